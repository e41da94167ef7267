from tessera.core.passwords import PasswordHasher, password_problem

# Cheap parameters keep the suite fast; the production defaults are asserted separately.
FAST = {"time_cost": 1, "memory_cost_kib": 1024}


def test_defaults_are_owasp_argon2id() -> None:
    stored = PasswordHasher().hash("a password")

    assert stored.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in stored


def test_verifies_the_right_password_only() -> None:
    hasher = PasswordHasher(**FAST)
    stored = hasher.hash("right password")

    assert hasher.verify(stored, "right password").ok
    assert not hasher.verify(stored, "wrong password").ok


def test_missing_or_corrupt_hash_fails() -> None:
    hasher = PasswordHasher(**FAST)

    assert not hasher.verify(None, "anything").ok
    assert not hasher.verify("not a hash", "anything").ok


def test_hash_with_old_parameters_asks_for_rehash() -> None:
    old = PasswordHasher(**FAST).hash("pw-rehash-me")

    check = PasswordHasher().verify(old, "pw-rehash-me")

    assert check.ok
    assert check.needs_rehash
    assert not PasswordHasher().verify(PasswordHasher().hash("x" * 8), "x" * 8).needs_rehash


def test_password_rules() -> None:
    assert password_problem("short") is not None
    assert password_problem("x" * 2000) is not None
    assert password_problem("long enough") is None
