"""Secret key versions: the text form, its edits, and digests that name their key (ADR 0035)."""

import hmac
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.credentials import CodeHasher
from tessera.core.secret_keys import InvalidKeyRing, KeyState, SecretKeyRing

OLD, NEW = secrets.token_urlsafe(30), secrets.token_urlsafe(30)


def test_a_bare_key_is_version_one_and_active() -> None:
    ring = SecretKeyRing.parse(f"  {OLD}  \n")

    assert [(key.version, key.state, key.value) for key in ring.keys] == [
        (1, KeyState.ACTIVE, OLD.encode())
    ]


def test_a_bare_pass_phrase_may_hold_spaces() -> None:
    phrase = "correct horse battery staple and some more words"

    assert SecretKeyRing.parse(phrase).active.value == phrase.encode()


def test_the_versioned_form_round_trips() -> None:
    ring = SecretKeyRing.parse(f"# keys\n\n1 verify {OLD}\n2 active {NEW}\n")

    assert SecretKeyRing.parse(ring.text()) == ring
    assert ring.active.version == 2
    assert ring.oldest.version == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no secret key"),
        ("short", "at least 32"),
        (f"1 active {OLD}\n1 verify {NEW}", "appears twice"),
        (f"1 verify {OLD}\n2 verify {NEW}", "exactly one"),
        (f"1 active {OLD}\n2 active {NEW}", "exactly one"),
        (f"0 active {OLD}", "from 1 to 255"),
        (f"256 active {OLD}", "from 1 to 255"),
        (f"1 retired {OLD}\n2 active {NEW}", "line 1: the state"),
        (f"1 active {OLD}\n2 verify short", "line 2: the key"),
        (f"1 active {OLD}\nnonsense", "line 2: expected"),
    ],
)
def test_bad_text_is_refused_without_showing_a_key(text: str, problem: str) -> None:
    with pytest.raises(InvalidKeyRing, match=problem) as raised:
        SecretKeyRing.parse(text)
    assert OLD not in str(raised.value)
    assert NEW not in str(raised.value)


def test_keys_are_added_activated_and_retired() -> None:
    ring = SecretKeyRing.parse(OLD).with_new_key(NEW.encode())

    assert (ring.active.version, ring.get(2)) == (1, ring.keys[1])
    assert ring.keys[1].state is KeyState.VERIFY
    active = ring.activating(2)
    assert active.active.version == 2
    assert active.without(1).keys == (active.keys[1],)
    with pytest.raises(InvalidKeyRing, match="active key cannot be retired"):
        active.without(2)
    with pytest.raises(InvalidKeyRing, match="no key version 7"):
        active.activating(7)


def test_the_representation_never_shows_the_key() -> None:
    assert OLD not in repr(SecretKeyRing.parse(OLD))


def test_digests_under_version_one_are_as_before_versions() -> None:
    hasher = CodeHasher(SecretKeyRing.parse(OLD))

    assert hasher.digest("CODE") == hmac.digest(OLD.encode(), b"CODE", "sha256")


def test_a_later_key_marks_its_digests_and_older_ones_still_match() -> None:
    before = CodeHasher(SecretKeyRing.parse(OLD))
    after = CodeHasher(SecretKeyRing.parse(f"1 verify {OLD}\n2 active {NEW}"))
    old_digest, new_digest = before.digest("CODE"), after.digest("CODE")

    assert new_digest == b"\x02" + hmac.digest(NEW.encode(), b"CODE", "sha256")
    assert after.matches("CODE", old_digest)
    assert after.matches("CODE", new_digest)
    assert not after.matches("CODF", old_digest)
    assert not before.matches("CODE", new_digest)  # key 2 unknown there
    assert after.digests("CODE") == (new_digest, old_digest)  # the active key first


@given(stored=st.binary(max_size=70))
def test_any_stored_bytes_are_answered_without_error(stored: bytes) -> None:
    hasher = CodeHasher(SecretKeyRing.parse(f"1 verify {OLD}\n2 active {NEW}"))

    assert hasher.matches("CODE", stored) is (stored in hasher.digests("CODE"))
