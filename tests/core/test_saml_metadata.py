"""Reading an IdP's SAML metadata: what is kept, and what is refused with its reason."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tessera.core.saml_metadata import MetadataProblem, read_idp_metadata

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


def certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp")])
    now = datetime.now(UTC)
    made = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(made.public_bytes(serialization.Encoding.DER)).decode()


def entity(
    entity_id: str = "https://idp.example.test/saml",
    sso: str = "https://idp.example.test/sso",
    binding: str = REDIRECT,
    keys: str | None = None,
) -> str:
    if keys is None:
        keys = key_descriptor("signing")
    return (
        f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"'
        f' xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'{keys}<md:SingleSignOnService Binding="{binding}" Location="{sso}"/>'
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    )


def key_descriptor(use: str | None) -> str:
    attribute = f' use="{use}"' if use else ""
    return (
        f"<md:KeyDescriptor{attribute}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
        f"{certificate()}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )


def test_keeps_the_entity_id_the_redirect_sign_in_url_and_the_signing_certificates() -> None:
    both = key_descriptor("signing") + key_descriptor(None) + key_descriptor("encryption")

    read = read_idp_metadata(entity(keys=both))

    assert read.entity_id == "https://idp.example.test/saml"
    assert read.sign_in_url == "https://idp.example.test/sso"
    assert len(read.certificates) == 2  # the encryption key is never trusted for signatures


def test_an_aggregate_with_one_idp_is_read() -> None:
    aggregate = (
        '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">'
        f"{entity()}</md:EntitiesDescriptor>"
    )

    assert read_idp_metadata(aggregate).entity_id == "https://idp.example.test/saml"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ('<!DOCTYPE x [<!ENTITY a "b">]>' + entity(), "DOCTYPE"),
        ("not xml at all", "not well-formed"),
        ("<html/>", "no EntityDescriptor"),
        (entity(binding=POST), "HTTP-Redirect"),
        (entity(sso="http://idp.example.test/sso"), "https"),
        (entity(keys=key_descriptor("encryption")), "no signing certificate"),
        (entity(entity_id=""), "entityID"),
        (
            '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">'
            f"{entity()}{entity(entity_id='https://other.example.test')}</md:EntitiesDescriptor>",
            "several identity providers",
        ),
        (entity() + " " * (600 * 1024), "larger than"),
    ],
)
def test_metadata_that_cannot_work_is_refused_with_the_reason(document: str, reason: str) -> None:
    with pytest.raises(MetadataProblem, match=reason):
        read_idp_metadata(document)


def test_http_is_accepted_on_loopback_only() -> None:
    read = read_idp_metadata(entity(sso="http://127.0.0.1:8081/sso"))

    assert read.sign_in_url == "http://127.0.0.1:8081/sso"
