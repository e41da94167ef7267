"""What the helpdesk says about itself: discover (shared/spec §6) and agent-client info (E20)."""

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field

#: The apps Deskpro's agent-client info reports on (shared/spec E20), in its order.
AGENT_CLIENT_APPS = ("tickets", "chat", "crm", "feedback", "publish", "tasks")
_LEADING_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class SiteInfo:
    public_url: str
    version: str
    #: This installation's identity (discover's ``helpdesk_uuid``): see ``derived_helpdesk_uuid``.
    helpdesk_uuid: str = ""
    #: The name apps show (agent-client info's ``settings.helpdesk_name``).
    helpdesk_name: str = "Tessera"
    #: The apps the helpdesk API behind Tessera serves (their ``enabled`` flags), as configured.
    agent_client_apps: frozenset[str] = field(default_factory=frozenset)

    @property
    def helpdesk_url(self) -> str:
        return self.public_url.rstrip("/") + "/"

    @property
    def base_api_url(self) -> str:
        return self.helpdesk_url + "api/v2/"

    @property
    def build_id(self) -> int:
        """The version as one growing number, as Deskpro's ``build_id``: 1.2.3 → 1002003."""
        number = 0
        for part in [*self.version.split("."), "0", "0"][:3]:
            digits = _LEADING_DIGITS.match(part)
            number = number * 1000 + min(int(digits[0]) if digits else 0, 999)
        return number

    @property
    def apps_oauth_proxy_url(self) -> str:
        """Where Deskpro apps find the API's OAuth proxy (served by the API, not by Tessera)."""
        return self.base_api_url + "apps/proxy-oauth"

    @property
    def apps_http_proxy_url(self) -> str:
        return self.base_api_url + "apps/proxy-http"

    def device_setup_url(self, code: str) -> str:
        return f"{self.base_api_url}api_tokens/device_setup/{code}"

    def device_setup_token(self, code: str) -> str:
        """What a phone scans (shared/spec §8.1): the prefix, then the one-time URL."""
        return f"dp_device_setup:{self.device_setup_url(code)}"


def derived_helpdesk_uuid(secret_key: bytes) -> str:
    """A UUID for this installation, the same on every node and after every restart.

    Taken from the secret key, which every node shares and which lives as long as the
    credentials do: a new key voids every key and token, and clients then see a new helpdesk.
    An HMAC of a fixed label, so the UUID tells nothing about the key.
    """
    digest = hmac.new(secret_key, b"tessera helpdesk_uuid", hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
