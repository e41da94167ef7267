"""A real SAML 2.0 IdP on loopback for the user-source tests: pysaml2's IdP side
(``saml2.server.Server``, signing with Debian's xmlsec1) in a small WSGI app.

Its key and self-signed certificate are made at start with ``cryptography``. A person signs in
on its login form (any password), and it answers Tessera's AuthnRequest with a Response posted
by the browser (HTTP-POST binding), as Okta, Entra ID or Keycloak would. ``MISBEHAVE`` makes it
answer in ways only Tessera's checks stand against: for another audience, unsigned, or signed
with a key other than the one its metadata publishes; ``signed-response`` signs the whole
response instead of the assertion (which must be accepted).
"""

import base64
import html
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORD
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

from tests.external_tools import XMLSEC1, require

#: What each misbehaviour does to the answer.
MISBEHAVIOURS = ("", "audience", "unsigned", "other-key", "signed-response")
ANOTHER_SERVICE = "https://another-service.example/saml"


@dataclass(frozen=True, slots=True)
class KeyPair:
    key_file: str
    cert_file: str


def make_key_pair(folder: Path, name: str) -> KeyPair:
    """An RSA key and a self-signed certificate for it, as PEM files in ``folder``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Test IdP {name}")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return KeyPair(str(key_file), str(cert_file))


@dataclass
class SamlIdp:
    """The IdP while it runs: its metadata for Tessera, and what it issued."""

    base_url: str
    accounts: Mapping[str, Mapping[str, Any]]
    published: KeyPair
    signing: KeyPair
    misbehave: str = ""
    #: Every SAMLResponse it sent (base64, as posted), last one last.
    issued: list[str] = field(default_factory=list)
    _server: Server | None = None
    _waiting: dict[str, tuple[Any, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/metadata"

    def metadata(self) -> str:
        """Its IdP metadata, with the certificate it publishes."""
        return str(entity_descriptor(self._config(self.published, sp_metadata=None)))

    def trust(self, sp_metadata: str) -> None:
        """Know Tessera's SP (its entity id and ACS URLs) from the SP metadata it serves."""
        self._server = Server(config=self._config(self.signing, sp_metadata=sp_metadata))

    def _config(self, keys: KeyPair, *, sp_metadata: str | None) -> IdPConfig:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": str(XMLSEC1.path),
                "key_file": keys.key_file,
                "cert_file": keys.cert_file,
                "metadata": {"inline": [sp_metadata]} if sp_metadata else {},
                "accepted_time_diff": 60,
                "allow_unknown_attributes": True,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (f"{self.base_url}/sso", BINDING_HTTP_REDIRECT)
                            ]
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "policy": {"default": {"lifetime": {"minutes": 5}}},
                    }
                },
            }
        )
        return config

    # -- the WSGI app ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/metadata":
            return _answer(start_response, "200 OK", self.metadata(), "application/xml")
        if path == "/sso" and method == "GET":
            return self._login_form(environ, start_response)
        if path == "/login" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(length).decode())
            return self._answer_request(form, start_response)
        return _answer(start_response, "404 Not Found", "not here", "text/plain")

    def _login_form(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        assert self._server is not None, "trust() Tessera's SP metadata first"
        query = parse_qs(environ.get("QUERY_STRING", ""))
        request = self._server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._waiting[key] = (request, query.get("RelayState", [""])[0])
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Test IdP</title>"
            "</head><body><h1>Test IdP</h1><form method='post' action='/login'>"
            f"<input type='hidden' name='key' value='{key}'>"
            "<label>Login <input name='login'></label>"
            "<label>Password <input name='password' type='password'></label>"
            "<button type='submit'>Sign in</button></form></body></html>"
        )
        return _answer(start_response, "200 OK", page, "text/html")

    def _answer_request(self, form: dict[str, list[str]], start_response: Any) -> list[bytes]:
        assert self._server is not None
        with self._lock:
            request, relay_state = self._waiting.pop(form["key"][0])
        login = form["login"][0]
        account = self.accounts[login]
        arguments = self._server.response_args(request.message, [BINDING_HTTP_POST])
        arguments.pop("binding", None)
        if self.misbehave == "audience":
            arguments["sp_entity_id"] = ANOTHER_SERVICE
        response = self._server.create_authn_response(
            {
                "email": [account["email"]],
                "displayName": [account["name"]],
                "groups": list(account["groups"]),
            },
            userid=login,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=login),
            authn={"class_ref": PASSWORD, "authn_auth": self.entity_id},
            sign_assertion=self.misbehave not in ("unsigned", "signed-response"),
            sign_response=self.misbehave == "signed-response",
            **arguments,
        )
        posted = self._server.apply_binding(
            BINDING_HTTP_POST, str(response), arguments["destination"], relay_state, response=True
        )
        page = posted["data"]
        found = re.search(r'name="SAMLResponse" value="([^"]+)"', page)
        assert found is not None, page
        self.issued.append(html.unescape(found.group(1)))
        return _answer(start_response, "200 OK", page, "text/html")


def _answer(start_response: Any, status: str, body: str, media_type: str) -> list[bytes]:
    data = body.encode()
    start_response(
        status,
        [("Content-Type", f"{media_type}; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return  # the query holds the AuthnRequest; nothing is written


@contextmanager
def running_saml_idp(
    accounts: Mapping[str, Mapping[str, Any]], *, misbehave: str = ""
) -> Iterator[SamlIdp]:
    """The IdP serving on a loopback port until the block ends."""
    require(XMLSEC1)
    assert misbehave in MISBEHAVIOURS, misbehave
    with tempfile.TemporaryDirectory(prefix="saml-idp-") as folder:
        published = make_key_pair(Path(folder), "published")
        signing = make_key_pair(Path(folder), "other") if misbehave == "other-key" else published
        server: WSGIServer = make_server("127.0.0.1", 0, _NotYet(), handler_class=_QuietHandler)
        idp = SamlIdp(
            f"http://127.0.0.1:{server.server_port}",
            accounts,
            published,
            signing,
            misbehave,
        )
        server.set_app(idp)
        thread = threading.Thread(target=server.serve_forever, name="saml-idp", daemon=True)
        thread.start()
        try:
            yield idp
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


class _NotYet:
    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return _answer(start_response, "503 Service Unavailable", "starting", "text/plain")


def decoded(saml_response: str) -> str:
    return base64.b64decode(saml_response).decode()


def encoded(document: str) -> str:
    return base64.b64encode(document.encode()).decode()
