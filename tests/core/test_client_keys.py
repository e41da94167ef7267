"""What a private_key_jwt client's keys may be (ADR 0052), without I/O."""

from typing import Any

import pytest
from joserfc.jwk import ECKey, RSAKey

from tessera.core.client_keys import (
    MAX_JWKS_BYTES,
    MAX_JWKS_KEYS,
    ClientAuthMethod,
    KeysRefused,
    check_client_keys,
    jti_digest,
    jwks_uri_problem,
    parse_jwks,
    parse_jwks_body,
)
from tessera.core.errors import FieldErrors

EC = dict(ECKey.generate_key("P-256", parameters={"kid": "ec"}).as_dict(private=False))
RSA = dict(RSAKey.generate_key(2048, parameters={"kid": "rsa"}).as_dict(private=False))


def test_public_rsa_and_ec_keys_are_kept_as_given() -> None:
    assert parse_jwks({"keys": [EC, RSA]}) == {"keys": [EC, RSA]}
    assert parse_jwks_body(b'{"keys": [' + str(EC).replace("'", '"').encode() + b"]}") == {
        "keys": [EC]
    }


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([EC], "JWK Set"),
        ({"keys": "x"}, "JWK Set"),
        ({"keys": []}, "no keys"),
        ({"keys": [EC] * (MAX_JWKS_KEYS + 1)}, "more than"),
        ({"keys": ["x"]}, "not a JSON object"),
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "RSA and EC"),
        ({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "abc"}]}, "RSA and EC"),
        ({"keys": [{**EC, "d": "private"}]}, "private key"),
        ({"keys": [{**RSA, "p": "private"}]}, "private key"),
        ({"keys": [{**EC, "use": "enc"}]}, "signatures"),
        ({"keys": [{**EC, "alg": "HS256"}]}, "not allowed"),
        ({"keys": [{**EC, "alg": "none"}]}, "not allowed"),
        ({"keys": [{**EC, "kid": 7}]}, "kid"),
        ({"keys": [{**EC, "x": "not-a-point"}]}, "not a valid"),
        ({"keys": [{"kty": "RSA", "e": "AQAB"}]}, "not a valid"),
    ],
)
def test_key_sets_that_cannot_check_assertions_are_refused(value: Any, reason: str) -> None:
    with pytest.raises(KeysRefused) as refused:
        parse_jwks(value)

    assert reason in refused.value.reason


def test_a_fetched_set_is_json_and_bounded() -> None:
    for body in (b"{not json", b"\xff", b" " * (MAX_JWKS_BYTES + 1)):
        with pytest.raises(KeysRefused):
            parse_jwks_body(body)


@pytest.mark.parametrize(
    ("uri", "fine"),
    [
        ("https://keys.example.com/jwks.json", True),
        ("https://keys.example.com:8443/", True),
        ("http://keys.example.com/jwks.json", False),
        ("https:///jwks.json", False),
        ("https://user@keys.example.com/jwks.json", False),
        ("https://keys.example.com/jwks.json#frag", False),
        ("https://keys.example.com:port/", False),
        ("https://keys.example.com/ jwks", False),
        ("https://keys.example.com/" + "a" * 2000, False),
    ],
)
def test_a_jwks_uri_is_https_with_a_host(uri: str, fine: bool) -> None:
    assert (jwks_uri_problem(uri) is None) is fine


def test_exactly_one_place_for_keys_and_only_for_private_key_jwt() -> None:
    method = ClientAuthMethod.PRIVATE_KEY_JWT
    for uri, keys, fields in [
        (None, None, ["jwks_uri"]),
        ("https://k.example.com/jwks", {"keys": [EC]}, ["jwks_uri"]),
        ("https://k.example.com/jwks", None, []),
        (None, {"keys": [EC]}, []),
    ]:
        problems = FieldErrors()
        check_client_keys(problems, method, uri, keys)
        assert sorted(problems.fields) == fields, (uri, keys)
    problems = FieldErrors()
    check_client_keys(problems, ClientAuthMethod.CLIENT_SECRET_BASIC, None, {"keys": [EC]})
    assert problems


def test_a_jti_is_remembered_by_a_fixed_length_digest() -> None:
    assert len(jti_digest("a")) == len(jti_digest("b" * 1000)) == 32
    assert jti_digest("a") != jti_digest("b")
