"""Credentials with codes of the format issued before ADR 0037: 25 symbols, no prefix."""

from sqlalchemy import update

from tessera.bootstrap import Runtime
from tessera.core.credentials import CodeHasher, new_code
from tessera.store.tables import ApiKeyRow, ApiTokenRow
from tests.conftest import SECRET_KEY
from tests.secrets_seen import remember

_HASHER = CodeHasher(SECRET_KEY.encode())


def with_old_code(runtime: Runtime, table: type[ApiKeyRow] | type[ApiTokenRow], row_id: int) -> str:
    """Give a stored key or token a code of the old format, as if issued before; the code."""
    code = new_code()
    remember(code)
    with runtime.database.write() as session:
        digest = _HASHER.digest(code)
        session.execute(update(table).where(table.id == row_id).values(code_digest=digest))
    return code
