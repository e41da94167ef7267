"""Codes with a kind prefix and a checksum (ADR 0037): inside Deskpro's alphabet, self-checking."""

import re
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.credential_codes import (
    API_KEY_CODE,
    API_TOKEN_CODE,
    CHECKSUM_LENGTH,
    CLIENT_SECRET_CODE,
    CODE_FORMATS,
    REFRESH_TOKEN_CODE,
    CodeFormat,
    checksum,
    checksum_holds,
    format_of,
    is_forged,
)
from tessera.core.credentials import CODE_ALPHABET, CODE_LENGTH, new_code

#: What Deskpro's spec lets a client pre-validate (shared/spec §2.2).
DESKPRO_FORM = re.compile(r"^[0-9]+:[23456789ABCDGHJKMNPQRSTWXYZ]+$")
DOCS = Path(__file__).parents[2] / "docs" / "secret-scanning.md"

formats = st.sampled_from(CODE_FORMATS)
symbols = st.sampled_from(CODE_ALPHABET)


@pytest.mark.parametrize("code_format", CODE_FORMATS, ids=lambda f: f.name)
def test_new_codes_carry_their_kind_and_stay_inside_deskpros_form(code_format: CodeFormat) -> None:
    codes = {code_format.new() for _ in range(50)}

    assert len(codes) == 50
    for code in codes:
        assert code.startswith(code_format.prefix)
        assert len(code) == code_format.length
        assert DESKPRO_FORM.fullmatch(f"12:{code}")
        assert checksum_holds(code)
        assert format_of(code) is code_format
        assert not is_forged(code)
        found = re.search(code_format.scanner_pattern, f'x = "{"12:" * code_format.with_id}{code}"')
        assert found is not None


def test_every_prefix_is_four_symbols_of_the_alphabet_and_no_kind_is_weaker_than_before() -> None:
    prefixes = [code_format.prefix for code_format in CODE_FORMATS]

    assert len(set(prefixes)) == len(prefixes)
    assert all(len(prefix) == 4 and set(prefix) <= set(CODE_ALPHABET) for prefix in prefixes)
    assert API_KEY_CODE.random_length == API_TOKEN_CODE.random_length == CODE_LENGTH
    assert REFRESH_TOKEN_CODE.random_length == 48
    assert CLIENT_SECRET_CODE.random_length == 40
    assert len(CODE_ALPHABET) ** CHECKSUM_LENGTH > 2**32


def test_the_checksum_is_crc32_in_base_27_most_significant_first() -> None:
    body = "TSRK" + "2" * 25
    value = zlib.crc32(body.encode())
    digits = [CODE_ALPHABET.index(symbol) for symbol in checksum(body)]

    assert sum(digit * 27**power for power, digit in enumerate(reversed(digits))) == value


@given(formats, st.data())
def test_one_changed_symbol_always_fails_the_checksum(
    code_format: CodeFormat, data: st.DataObject
) -> None:
    code = code_format.new()
    position = data.draw(st.integers(0, len(code) - 1), label="position")
    replacement = data.draw(symbols.filter(lambda symbol: symbol != code[position]))
    changed = code[:position] + replacement + code[position + 1 :]

    assert not checksum_holds(changed)
    if position >= len(code_format.prefix):  # still claims the kind: refused without a read
        assert is_forged(changed)


@given(formats, st.text(min_size=CHECKSUM_LENGTH, max_size=CHECKSUM_LENGTH))
def test_only_the_checksum_itself_holds(code_format: CodeFormat, tail: str) -> None:
    # Any characters at all, not only the alphabet's: "0", "E", "_", blanks, signs, non-ASCII.
    body = code_format.new()[:-CHECKSUM_LENGTH]

    assert checksum_holds(body + tail) == (tail == checksum(body))


@given(formats, st.data())
def test_two_swapped_neighbours_fail_the_checksum(
    code_format: CodeFormat, data: st.DataObject
) -> None:
    code = code_format.new()
    position = data.draw(st.integers(len(code_format.prefix), len(code) - 2))
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]

    if swapped != code:
        assert is_forged(swapped)


@given(st.text(max_size=80))
def test_only_a_code_claiming_our_format_can_be_forged(text: str) -> None:
    # Anything else (older codes, junk) is left to the usual check: never refused here.
    if format_of(text) is None:
        assert not is_forged(text)


def test_older_codes_are_no_format_of_ours_and_never_forged() -> None:
    for _ in range(200):
        old = new_code()
        assert format_of(old) is None
        assert not is_forged(old)
    assert format_of("TSRK" + "2" * 25) is None  # an older code that happens to start so


def test_the_documented_patterns_are_the_codes_own() -> None:
    text = DOCS.read_text(encoding="utf-8")

    for code_format in CODE_FORMATS:
        assert f"| `{code_format.name}` | `{code_format.scanner_pattern}` |" in text
