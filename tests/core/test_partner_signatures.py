"""The partner's keys document and signatures: anything malformed is refused, never raised."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import (
    ECDSA,
    SECP256R1,
    SECP384R1,
    generate_private_key,
)
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.partner_signatures import (
    InvalidPartnerKeys,
    parse_partner_keys,
    signature_verifies,
)

SIGNER = generate_private_key(SECP256R1())
BODY = b'[{"token":"12:TSRK","type":"tessera_api_key","url":"","source":"content"}]'


def document(*pems: str) -> str:
    entries = [
        {"key_identifier": f"id{n}", "key": pem, "is_current": True} for n, pem in enumerate(pems)
    ]
    return json.dumps({"public_keys": entries})


def pem_of(curve: SECP256R1 | SECP384R1) -> str:
    key = SIGNER if isinstance(curve, SECP256R1) else generate_private_key(curve)
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


KEYS = parse_partner_keys(document(pem_of(SECP256R1())))


def test_a_signature_made_as_github_makes_it_verifies() -> None:
    signature = base64.b64encode(SIGNER.sign(BODY, ECDSA(SHA256()))).decode()

    assert signature_verifies(KEYS, "id0", signature, BODY)
    assert not signature_verifies(KEYS, "id0", signature, BODY + b"\n")
    assert not signature_verifies(KEYS, "id1", signature, BODY)
    assert not signature_verifies(KEYS, None, signature, BODY)
    assert not signature_verifies(KEYS, "id0", None, BODY)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"public_keys": []}',
        '{"public_keys": [{"key": "x"}]}',
        document("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        document(pem_of(SECP384R1())),  # not GitHub's curve
    ],
)
def test_documents_that_are_not_p256_keys_are_refused(text: str) -> None:
    with pytest.raises(InvalidPartnerKeys):
        parse_partner_keys(text)


@given(st.text(max_size=200), st.text(max_size=80))
def test_any_header_values_are_a_refusal_never_an_error(signature: str, identifier: str) -> None:
    assert not signature_verifies(KEYS, identifier or "id0", signature, BODY)


@given(st.binary(max_size=100))
def test_any_decoded_bytes_are_a_refusal_never_an_error(der: bytes) -> None:
    assert not signature_verifies(KEYS, "id0", base64.b64encode(der).decode(), BODY)
