import base64
import hmac
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.credentials import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CodeHasher,
    CredentialKind,
    PresentedCredential,
    PresentedJwt,
    _parse_separated,
    new_code,
    parse_authorization,
)
from tessera.core.errors import (
    InvalidApiKey,
    InvalidApiToken,
    InvalidAuthorizationHeader,
    MalformedAuthorizationHeader,
    TesseraError,
)


def basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("key 1:ABC", PresentedCredential(CredentialKind.API_KEY, 1, "ABC")),
        ("token 42:XYZ", PresentedCredential(CredentialKind.API_TOKEN, 42, "XYZ")),
        ("  token   42:XYZ  ", PresentedCredential(CredentialKind.API_TOKEN, 42, "XYZ")),
        (
            "key,1:XYZ",
            PresentedCredential(CredentialKind.API_KEY, 1, "XYZ"),
        ),  # Deskpro splits on commas
        ("Key 1:ABC", PresentedCredential(CredentialKind.API_KEY, 1, "ABC")),  # decision 11.3
        ("TOKEN 7:ABC", PresentedCredential(CredentialKind.API_TOKEN, 7, "ABC")),
        ("Bearer 7:ABC", PresentedCredential(CredentialKind.API_TOKEN, 7, "ABC")),
        ("token 7:AB:C", PresentedCredential(CredentialKind.API_TOKEN, 7, "AB:C")),  # first colon
        (basic("9:CODE"), PresentedCredential(CredentialKind.EITHER, 9, "CODE")),
    ],
)
def test_reads_kind_id_and_code(header: str, expected: PresentedCredential) -> None:
    assert parse_authorization(header) == expected


@pytest.mark.parametrize(
    "header", ["Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "token eyJhbGciOiJSUzI1NiJ9.e30.c2ln"]
)
def test_a_bearer_jwt_is_handed_back_unverified(header: str) -> None:
    # RFC 9068 access tokens (ADR 0051): the caller checks the signature, then the row.
    assert parse_authorization(header) == PresentedJwt("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("key eyJhbGciOiJSUzI1NiJ9.e30.c2ln", InvalidApiKey),  # a key is never a JWT
        (basic("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), InvalidApiKey),
        ("key 1:XYZ invalid", MalformedAuthorizationHeader),  # three parts (Deskpro feature)
        ("key 91 XdfadfadfeYZ", MalformedAuthorizationHeader),
        ("key", MalformedAuthorizationHeader),
        ("Basic !!!notbase64", MalformedAuthorizationHeader),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), MalformedAuthorizationHeader),
        ("invalid-type 1:XYZ", InvalidAuthorizationHeader),
        ("Digest 1:XYZ", InvalidAuthorizationHeader),
        ("key 1XYZ", InvalidApiKey),
        ("key abc:XYZ", InvalidApiKey),
        ("key -1:XYZ", InvalidApiKey),
        ("key 1234567890123456789:XYZ", InvalidApiKey),  # beyond 64-bit ids
        ("token 1XYZ", InvalidApiToken),
        ("Bearer nocolon", InvalidApiToken),
        ("key 1:" + "A" * 300, InvalidApiKey),  # longer than any code we issue
        (basic("nocolon"), InvalidApiKey),
    ],
)
def test_rejects_headers_as_deskpro_does(header: str, expected: type[TesseraError]) -> None:
    with pytest.raises(expected):
        parse_authorization(header)


def _outcome(header: str) -> str:
    try:
        parse_authorization(header)
    except TesseraError as error:
        return error.kind.name
    return "parsed"


@given(st.text(max_size=300))
def test_any_text_either_parses_or_raises_a_wire_error(header: str) -> None:
    # The property behind "never a 500": arbitrary input, including NUL and non-ASCII.
    assert _outcome(header) in {"parsed", "UNAUTHENTICATED"}


@given(st.binary(max_size=200))
def test_any_basic_payload_parses_or_raises_a_wire_error(payload: bytes) -> None:
    header = "Basic " + base64.b64encode(payload).decode()

    assert _outcome(header) in {"parsed", "UNAUTHENTICATED"}


def test_new_codes_use_the_deskpro_alphabet_and_differ() -> None:
    codes = {new_code() for _ in range(50)}

    assert len(codes) == 50
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)


def test_digests_are_keyed() -> None:
    one = CodeHasher(b"a" * 32)
    other = CodeHasher(b"b" * 32)

    assert one.digest("CODE") != other.digest("CODE")
    assert one.matches("CODE", one.digest("CODE"))
    assert not one.matches("CODE", other.digest("CODE"))
    assert not one.matches("CODF", one.digest("CODE"))


def test_short_secret_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CodeHasher(b"short")


def _result_of(parse: Callable[[str], PresentedCredential | PresentedJwt], header: str) -> object:
    try:
        return parse(header)
    except TesseraError as error:
        return type(error)


#: Pieces of headers that sit on the edge between the one-match form and the general rule.
_HEADER_PIECES = st.sampled_from(
    [
        "token", "key", "Bearer", "TOKEN", "Basic", "bogus", "\u212aey", " ", "  ", "\t",
        "\u00a0", "\u2028", ",", ":", "0", "7", "42", "123456789012345678", "1234567890123456789",
        "ABC", "x" * 250, "é", "\n", "eyJ",
    ]
)  # fmt: skip


@given(st.lists(_HEADER_PIECES, max_size=7).map("".join))
def test_the_one_match_form_agrees_with_the_general_rule(header: str) -> None:
    assert _result_of(parse_authorization, header) == _result_of(_parse_separated, header)


@given(key=st.binary(min_size=32, max_size=200), code=st.text(max_size=300))
def test_the_keyed_digest_is_hmac_sha256(key: bytes, code: str) -> None:
    expected = hmac.digest(key, code.encode("utf-8", "surrogatepass"), "sha256")

    assert CodeHasher(key).digest(code) == expected
