"""``X-DeskPRO-API-ClientType: iOS (v1.0.92)`` → ``("ios", "1.0.92")`` (shared/spec §5)."""

import re

_TYPE_AND_VERSION = re.compile(r"(.+?)\s*\(v([^()]*)\)")
_MAX_LENGTH = 100


def parse_client_type(header: str | None) -> tuple[str, str]:
    value = (header or "").strip()[:_MAX_LENGTH]
    if not value:
        return "standard", "0"
    match = _TYPE_AND_VERSION.fullmatch(value)
    if match is None:
        return value.lower(), "0"
    return match[1].lower(), match[2]
