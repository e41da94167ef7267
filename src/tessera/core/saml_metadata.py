"""What an operator's SAML IdP metadata says: the IdP's entity id, where people sign in, and the
certificates its signatures must verify with (SAML 2.0 Metadata, §2.4.3 and §2.4.1.1).

Read when the operator connects or changes a SAML source, so that a metadata document that
cannot work is refused then, with the reason, and not at someone's first sign-in. The sign-in
itself hands the whole document to pysaml2 (``tessera.oauth.saml_sign_in``); this reader only
checks it and pulls out what the command line and the console show.

Parsed with defusedxml, and a document with a DOCTYPE is refused before parsing: metadata is
pasted or fetched from elsewhere, and an entity-expansion "bomb" must not cost anything.
"""

import base64
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from cryptography import x509
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from tessera.core.addresses import is_loopback_host

#: The largest metadata document accepted (a real IdP's is a few KiB; aggregates are refused).
MAX_METADATA_BYTES = 512 * 1024
#: The longest entity id kept (the ``issuer`` column).
MAX_ENTITY_ID_LENGTH = 2000

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


class MetadataProblem(ValueError):
    """The metadata cannot be used; the message says why (safe to show the operator)."""


@dataclass(frozen=True, slots=True)
class IdpMetadata:
    #: The IdP's entity id: the ``Issuer`` of its responses.
    entity_id: str
    #: Its SingleSignOnService for the HTTP-Redirect binding (where AuthnRequests go).
    sign_in_url: str
    #: Its signing certificates: more than one during a key rollover.
    certificates: tuple[x509.Certificate, ...]


def _refuse_doctype(document: bytes) -> None:
    """No DOCTYPE, hence no entity declarations: SAML never needs one (SAML core §1.3)."""
    if b"<!DOCTYPE" in document.upper().replace(b" ", b""):
        raise MetadataProblem("The document declares a DOCTYPE, which SAML never needs.")


def read_idp_metadata(document: str | bytes) -> IdpMetadata:
    """The IdP described by ``document`` (an EntityDescriptor, or an EntitiesDescriptor that
    holds exactly one IdP).

    Raises:
        MetadataProblem: not XML, too large, not SAML 2.0 IdP metadata, no HTTP-Redirect
            sign-in URL, or no usable signing certificate.
    """
    raw = document.encode() if isinstance(document, str) else document
    if len(raw) > MAX_METADATA_BYTES:
        raise MetadataProblem(f"The metadata is larger than {MAX_METADATA_BYTES // 1024} KiB.")
    _refuse_doctype(raw)
    try:
        root = fromstring(raw, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise MetadataProblem("The metadata is not well-formed XML.") from None
    entity = _the_idp(root)
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id or len(entity_id) > MAX_ENTITY_ID_LENGTH:
        raise MetadataProblem("The IdP's EntityDescriptor has no usable entityID.")
    idp = entity.find(f"{{{MD}}}IDPSSODescriptor")
    if idp is None:  # pragma: no cover - _the_idp chose an entity with one
        raise MetadataProblem("The metadata describes no SAML 2.0 identity provider.")
    return IdpMetadata(entity_id, _sign_in_url(idp), _certificates(idp))


def _the_idp(root: Element) -> Element:
    if root.tag == f"{{{MD}}}EntityDescriptor":
        candidates = [root]
    elif root.tag == f"{{{MD}}}EntitiesDescriptor":
        candidates = root.findall(f".//{{{MD}}}EntityDescriptor")
    else:
        raise MetadataProblem("The document is not SAML 2.0 metadata (no EntityDescriptor).")
    idps = [
        entity
        for entity in candidates
        if any(
            SAML2_PROTOCOL in (descriptor.get("protocolSupportEnumeration") or "").split()
            for descriptor in entity.findall(f"{{{MD}}}IDPSSODescriptor")
        )
    ]
    if not idps:
        raise MetadataProblem("The metadata describes no SAML 2.0 identity provider.")
    if len(idps) > 1:
        raise MetadataProblem(
            "The metadata describes several identity providers; give the one IdP's own metadata."
        )
    return idps[0]


def _sign_in_url(idp: Element) -> str:
    for service in idp.findall(f"{{{MD}}}SingleSignOnService"):
        if service.get("Binding") == HTTP_REDIRECT:
            location = (service.get("Location") or "").strip()
            if url_problem(location) is None:
                return location
            raise MetadataProblem(
                "The IdP's sign-in URL must be https (http only on a loopback address)."
            )
    raise MetadataProblem("The IdP offers no SingleSignOnService with the HTTP-Redirect binding.")


def url_problem(url: str) -> str | None:
    """None when ``url`` may be used to reach an IdP: https, or http on a loopback address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "not a URL"
    if not host or len(url) > MAX_ENTITY_ID_LENGTH:
        return "not a URL"
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host)):
        return None
    return "not https"


def _certificates(idp: Element) -> tuple[x509.Certificate, ...]:
    found: list[x509.Certificate] = []
    for descriptor in idp.findall(f"{{{MD}}}KeyDescriptor"):
        if descriptor.get("use", "signing") != "signing":
            continue  # an encryption key: never trusted for signatures
        for element in descriptor.iter(f"{{{DS}}}X509Certificate"):
            text = "".join((element.text or "").split())
            try:
                found.append(x509.load_der_x509_certificate(base64.b64decode(text)))
            except ValueError:
                raise MetadataProblem("A signing certificate in the metadata is not one.") from None
    if not found:
        raise MetadataProblem("The IdP's metadata holds no signing certificate.")
    return tuple(found)
