"""``tessera.guard`` imports and runs where none of the server's libraries can be imported."""

import subprocess
import sys
import textwrap

#: What the server needs and the guard must not: importing any of them fails in the child.
SERVER_LIBRARIES = [
    "sqlalchemy", "alembic", "authlib", "argon2", "typer", "jinja2", "limits", "psycopg",
    "uvicorn", "pydantic", "fastapi", "starlette",
]  # fmt: skip


def test_the_guard_needs_none_of_the_servers_libraries() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        blocked = {SERVER_LIBRARIES!r}

        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in blocked:
                    raise ImportError(f"blocked: {{name}}")
                return None

        sys.meta_path.insert(0, Refuse())
        from tessera.guard import Guard
        from tessera.guard.wsgi import TesseraWSGIMiddleware

        guard = Guard("http://127.0.0.1:9", timeout=0.5)
        answer = guard.check("GET", "/tickets", [(b"authorization", b"key 1:X")])
        print(answer.status, answer.code)
        """
    )
    # Our own interpreter running our own script: no untrusted input.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["503", "service_unavailable"]
