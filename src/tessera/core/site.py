"""What the helpdesk says about itself (``/helpdesk/discover``, shared/spec §6)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SiteInfo:
    public_url: str
    version: str

    @property
    def helpdesk_url(self) -> str:
        return self.public_url.rstrip("/") + "/"

    @property
    def base_api_url(self) -> str:
        return self.helpdesk_url + "api/v2/"

    def device_setup_url(self, code: str) -> str:
        return f"{self.base_api_url}api_tokens/device_setup/{code}"

    def device_setup_token(self, code: str) -> str:
        """What a phone scans (shared/spec §8.1): the prefix, then the one-time URL."""
        return f"dp_device_setup:{self.device_setup_url(code)}"
