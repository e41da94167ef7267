"""Signing in through a SAML 2.0 identity provider: Tessera as the service provider (ADR 0049).

Web Browser SSO (SAML profiles §4.1): the AuthnRequest goes out by HTTP-Redirect, the Response
comes back by HTTP-POST to the source's assertion consumer service (the console's callback, or
E9's for a hand-over format). pysaml2 builds the request and checks the response: XML schema,
the signature (with xmlsec1, against the certificates of the configured IdP metadata only),
the status, ``InResponseTo`` against this browser's one outstanding request (no unsolicited
responses), the time conditions with a small skew, the audience when named, the recipient.

Checked here as well, because pysaml2 lets them pass when absent or merely "among ours"
(SAML profiles §4.1.4.2 requires each): the issuer is the configured IdP, the assertion names
our entity id as its audience, a bearer confirmation names exactly this ACS URL, this request,
and an end of validity, the Destination (when given) is this ACS URL, and the NameID is
persistent (the subject people are linked by). The assertion's id and end of validity go back
to the caller, which refuses a second use of it (kept in the database: every process agrees).

Refused before pysaml2 or xmlsec1 see a byte: a body over ``MAX_RESPONSE_CHARS`` (the web
layer bounds the request itself), anything with a DOCTYPE (no entity expansion, ever), and
encrypted assertions (Tessera holds no SP key to decrypt them).
"""

import base64
import binascii
import calendar
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.response import StatusError, UnsolicitedResponse
from saml2.saml import NAMEID_FORMAT_PERSISTENT, SCM_BEARER
from saml2.sigver import SignatureError, SigverError
from saml2.time_util import str_to_time
from saml2.validate import ResponseLifetimeExceed, ToEarly

from tessera.core.saml_metadata import MAX_METADATA_BYTES, url_problem
from tessera.core.user_sources import ProviderIdentity, UserSource, return_urls
from tessera.oauth.sign_in import (
    Begun,
    OneTime,
    ProviderRefused,
    ProviderUnavailable,
    Vouched,
    xmlsec1_binary,
)

#: Clocks differ: NotBefore and NotOnOrAfter are judged with this much slack.
SKEW_SECONDS = 60
#: The longest SAMLResponse form field read (base64): a real one is a few KiB.
MAX_RESPONSE_CHARS = 96 * 1024
#: How many sources' pysaml2 configurations (with their parsed metadata) a process keeps.
_CONFIGS_KEPT = 32
_ASSERTION_ID_LENGTH = 255


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def fetch_idp_metadata(url: str, *, timeout: float = 10.0) -> str:
    """The IdP metadata at ``url``, fetched now by the operator's command (never while someone
    signs in): https (http only on loopback), no redirects, at most ``MAX_METADATA_BYTES``.

    Raises:
        ProviderUnavailable: the URL is not one, or its answer is not a usable document.
    """
    if url_problem(url) is not None:
        raise ProviderUnavailable("the metadata URL must be https (http only on loopback)")
    request = urllib.request.Request(url, headers={"Accept": "application/samlmetadata+xml"})  # noqa: S310 - checked just above
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            status, body = answer.status, answer.read(MAX_METADATA_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise ProviderUnavailable(f"{url} answered {error.code}") from None
    except (OSError, ValueError) as error:
        raise ProviderUnavailable(f"{url} could not be reached: {error}") from None
    if status != 200:
        raise ProviderUnavailable(f"{url} answered {status}")
    if len(body) > MAX_METADATA_BYTES:
        raise ProviderUnavailable(f"{url} answered more than {MAX_METADATA_BYTES // 1024} KiB")
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise ProviderUnavailable(f"{url} answered something other than UTF-8 XML") from None


class SamlSignIn:
    """The service provider side; one per process, safe to share between threads."""

    def __init__(self, public_url: str, *, skew_seconds: int = SKEW_SECONDS) -> None:
        self._public_url = public_url
        self._skew = skew_seconds
        self._lock = threading.Lock()
        self._configs: dict[tuple[int, datetime, str, str | None], SPConfig] = {}
        # pysaml2 logs whole documents when a check fails; an assertion is a bearer credential
        # and names a person: our refusal reasons (audited) say what went wrong instead.
        logging.getLogger("saml2").setLevel(logging.CRITICAL)

    def start(self, source: UserSource, return_url: str) -> Begun:
        """An AuthnRequest for a persistent NameID, by HTTP-Redirect; keeps its id.

        Raises:
            ProviderUnavailable: the metadata cannot be used, or xmlsec1 is missing.
        """
        client = Saml2Client(config=self._config(source))
        try:
            request_id, info = client.prepare_for_authenticate(
                entityid=source.issuer,
                binding=BINDING_HTTP_REDIRECT,
                nameid_format=NAMEID_FORMAT_PERSISTENT,
                assertion_consumer_service_url=return_url,
            )
        except Exception as error:  # noqa: BLE001 - pysaml2 raises plain Exception too
            raise ProviderUnavailable(f"no AuthnRequest could be made: {error}") from None
        location = dict(info["headers"]).get("Location")
        if not isinstance(location, str):
            raise ProviderUnavailable("no AuthnRequest could be made")
        return Begun(location, {"request": str(request_id)})

    def finish(
        self,
        source: UserSource,
        client_secret: str | None,
        kept: Mapping[str, str],
        return_url: str,
        answer: Mapping[str, str],
    ) -> Vouched:
        """Who the IdP's posted Response vouches for, with the assertion to use only once.

        Raises:
            ProviderRefused: no response, or one that does not check out.
            ProviderUnavailable: the metadata cannot be used, or xmlsec1 is missing.
        """
        encoded = "".join(answer.get("SAMLResponse", "").split())
        request_id = kept.get("request", "")
        if not encoded:
            raise ProviderRefused("the answer carries no SAMLResponse")
        if len(encoded) > MAX_RESPONSE_CHARS:
            raise ProviderRefused("the SAMLResponse is too large")
        try:
            document = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ProviderRefused("the SAMLResponse is not base64") from None
        try:
            document.decode("utf-8")  # what SAML's HTTP-POST binding carries (no UTF-16 tricks)
        except UnicodeDecodeError:
            raise ProviderRefused("the SAMLResponse is not UTF-8 XML") from None
        squeezed = document.upper().replace(b" ", b"")
        if b"<!DOCTYPE" in squeezed or b"<!ENTITY" in squeezed:
            raise ProviderRefused("the SAMLResponse declares a DOCTYPE, which SAML never needs")
        if b"ENCRYPTEDASSERTION" in squeezed:
            raise ProviderRefused("encrypted assertions are not supported; have the IdP sign")
        client = Saml2Client(config=self._config(source))
        try:
            response = client.parse_authn_request_response(
                encoded, BINDING_HTTP_POST, outstanding={request_id: return_url}
            )
        except Exception as error:  # noqa: BLE001 - pysaml2 raises plain Exception too
            raise ProviderRefused(_why(error)) from None
        if response is None:
            raise ProviderRefused("the response is for another service or was not issued now")
        return _checked(source, response, request_id, return_url, timedelta(seconds=self._skew))

    def sp_metadata(self, source: UserSource) -> str:
        """Our SP metadata for this source: entity id, the ACS URLs (HTTP-POST), NameID format.

        Raises:
            ProviderUnavailable: the source's IdP metadata cannot be used.
        """
        descriptor = entity_descriptor(self._config(source, need_xmlsec=False))
        return str(descriptor)

    def _config(self, source: UserSource, *, need_xmlsec: bool = True) -> SPConfig:
        binary = xmlsec1_binary()
        if binary is None and need_xmlsec:
            raise ProviderUnavailable("xmlsec1 is not installed (Debian's package xmlsec1)")
        if not source.idp_metadata:
            raise ProviderUnavailable("the source has no IdP metadata")
        key = (source.id, source.updated_at, source.sp_entity_id, binary)
        with self._lock:
            found = self._configs.get(key)
        if found is not None:
            return found
        config = SPConfig()
        try:
            config.load(self._settings(source, binary or "xmlsec1"))
        except Exception as error:  # noqa: BLE001 - expired (validUntil), unreadable, …
            raise ProviderUnavailable(f"the IdP metadata cannot be used: {error}") from None
        with self._lock:
            if len(self._configs) >= _CONFIGS_KEPT:
                self._configs.clear()
            self._configs[key] = config
        return config

    def _settings(self, source: UserSource, binary: str) -> dict[str, Any]:
        acs = [(url, BINDING_HTTP_POST) for url in return_urls(self._public_url, source.id)]
        return {
            "entityid": source.sp_entity_id,
            "xmlsec_binary": binary,
            "metadata": {"inline": [source.idp_metadata]},
            "accepted_time_diff": self._skew,
            # Never the key a signature carries with it: only the metadata's certificates.
            "only_use_keys_in_metadata": True,
            "allow_unknown_attributes": True,
            "delete_tmpfiles": True,
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": acs},
                    "allow_unsolicited": False,
                    "authn_requests_signed": False,
                    "want_response_signed": False,
                    "want_assertions_signed": False,
                    # The assertion signed, or the whole response (which covers it).
                    "want_assertions_or_response_signed": True,
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "name_id_policy_format": NAMEID_FORMAT_PERSISTENT,
                    "name_id_format_allow_create": True,
                }
            },
        }


def _why(error: Exception) -> str:
    """A short reason for the audit log: never the document (pysaml2's messages may hold it)."""
    if isinstance(error, SignatureError):
        return "a signature does not verify with the IdP's certificates"
    if isinstance(error, UnsolicitedResponse):
        return "the response answers no request of this browser (InResponseTo)"
    if isinstance(error, ToEarly | ResponseLifetimeExceed):
        return "the assertion is outside its time window"
    if isinstance(error, StatusError):
        return f"the IdP answered {type(error).__name__}"
    first = (str(error).splitlines() or [""])[0][:120]
    if isinstance(error, SigverError):
        return f"signature: {first}"
    return f"the response does not check out: {type(error).__name__}: {first}"


def _checked(
    source: UserSource, response: Any, request_id: str, return_url: str, skew: timedelta
) -> Vouched:
    """The checks SAML profiles §4.1.4 requires that pysaml2 leaves optional."""
    outer = response.response
    if outer.in_response_to != request_id:
        raise ProviderRefused("the response answers no request of this browser (InResponseTo)")
    if outer.destination and outer.destination != return_url:
        raise ProviderRefused("the response is addressed elsewhere (Destination)")
    if outer.signature is not None and not outer.destination:
        # SAML bindings §3.5.5.2: a signed message names where it was meant to be delivered.
        raise ProviderRefused("the signed response names no Destination")
    if response.issuer() not in ("", source.issuer):  # optional on the Response (§4.1.4.2)
        raise ProviderRefused("the response comes from another IdP (Issuer)")
    if len(response.assertions) != 1 or response.assertion is None:
        raise ProviderRefused("the response holds no single assertion")
    assertion = response.assertion
    if assertion.issuer is None or (assertion.issuer.text or "").strip() != source.issuer:
        raise ProviderRefused("the assertion comes from another IdP (Issuer)")
    if source.sp_entity_id not in _audiences(assertion):
        raise ProviderRefused("the assertion is not for this service (Audience)")
    expires_at = _bearer_until(assertion, request_id, return_url) + skew
    if expires_at <= datetime.now(UTC):
        raise ProviderRefused("the assertion is outside its time window")
    name_id = assertion.subject.name_id
    if name_id is None or name_id.format != NAMEID_FORMAT_PERSISTENT:
        raise ProviderRefused("the NameID is not persistent")
    subject = (name_id.text or "").strip()
    assertion_id = str(assertion.id or "")
    if not assertion_id or len(assertion_id) > _ASSERTION_ID_LENGTH:
        raise ProviderRefused("the assertion has no usable ID")
    attributes = _attributes(assertion)
    groups = tuple(attributes.get(source.groups_claim, ())) if source.groups_claim else ()
    identity = ProviderIdentity(
        subject=subject,
        email=_first(attributes, source.email_claim),
        # SAML has no "verified" flag: a SAML source never links people by e-mail (ADR 0049).
        email_verified=False,
        name=_first(attributes, source.name_claim),
        groups=groups,
    )
    return Vouched(identity, OneTime(assertion_id, expires_at))


def _audiences(assertion: Any) -> set[str]:
    conditions = assertion.conditions
    if conditions is None:
        return set()
    return {
        (audience.text or "").strip()
        for restriction in conditions.audience_restriction
        for audience in restriction.audience
    }


def _bearer_until(assertion: Any, request_id: str, return_url: str) -> datetime:
    """The end of validity of the bearer confirmation for this ACS URL and request."""
    for confirmation in assertion.subject.subject_confirmation:
        data = confirmation.subject_confirmation_data
        if (
            confirmation.method == SCM_BEARER
            and data is not None
            and data.recipient == return_url
            and data.in_response_to == request_id
            and data.not_on_or_after
        ):
            seconds = calendar.timegm(str_to_time(data.not_on_or_after))
            return datetime.fromtimestamp(seconds, UTC)
    raise ProviderRefused(
        "no bearer confirmation names this service's URL, this request and an end of validity"
    )


def _attributes(assertion: Any) -> dict[str, list[str]]:
    """Attribute values by Name and by FriendlyName, as the IdP sent them."""
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            values = [
                value.text.strip()
                for value in attribute.attribute_value
                if isinstance(value.text, str) and value.text.strip()
            ]
            for name in {attribute.name, attribute.friendly_name} - {None, ""}:
                found.setdefault(str(name), []).extend(values)
    return found


def _first(attributes: Mapping[str, list[str]], name: str) -> str | None:
    values = attributes.get(name) or []
    return values[0] if values else None
