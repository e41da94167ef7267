"""Codes that say what they are: a kind prefix, the random part, and a checksum (ADR 0037).

A leaked key is found by secret scanners only if it looks like nothing else. Each code that can
end up in source code (API keys, API tokens, OAuth refresh tokens and client secrets) starts
with four symbols naming its kind and ends with seven holding a CRC-32 of the rest, so a scanner
that matches the prefix can throw away look-alikes without asking us. Every symbol stays in
Deskpro's alphabet (shared/spec §2.2): clients that pre-validate ``^[0-9]+:[…]+$`` accept the
new codes, and ``ID:CODE`` is unchanged. Older codes, 25 symbols without a prefix, remain valid:
only their digests are stored, and nothing here is needed to verify them.
"""

import zlib
from dataclasses import dataclass

from tessera.core.credentials import CODE_ALPHABET, CODE_LENGTH, new_code

#: 27**7 > 2**32: seven symbols hold any CRC-32.
CHECKSUM_LENGTH = 7
_BASE = len(CODE_ALPHABET)
_SCANNED_SYMBOLS = f"[{CODE_ALPHABET}]"
#: ``ID:`` as ``core.credentials`` parses it: a base-10 id of at most 18 digits.
_ID_PATTERN = "[0-9]{1,18}:"


@dataclass(frozen=True, slots=True)
class CodeFormat:
    """One kind of code: its prefix, how much randomness it carries, how it is presented."""

    #: The name a scanning partner knows the kind by (its ``type`` in a report).
    name: str
    prefix: str
    random_length: int
    #: Presented as ``ID:CODE`` (keys, tokens), rather than alone (refresh tokens, secrets).
    with_id: bool

    @property
    def length(self) -> int:
        return len(self.prefix) + self.random_length + CHECKSUM_LENGTH

    def new(self) -> str:
        """A fresh code of this kind, from a CSPRNG (decision 11.9)."""
        body = self.prefix + new_code(self.random_length)
        return body + checksum(body)

    @property
    def scanner_pattern(self) -> str:
        """The regular expression to register with a secret scanner (docs/secret-scanning.md)."""
        code = f"{self.prefix}{_SCANNED_SYMBOLS}{{{self.length - len(self.prefix)}}}"
        return rf"\b{_ID_PATTERN if self.with_id else ''}{code}\b"


# Each prefix is four symbols of the alphabet: "TSR" for Tessera, then the kind. The random
# parts keep the lengths each kind had before, so no code carries less entropy than it did.
API_KEY_CODE = CodeFormat("tessera_api_key", "TSRK", CODE_LENGTH, with_id=True)
#: Every API token: from the exchange, device setup, a signed-in browser, or OAuth.
API_TOKEN_CODE = CodeFormat("tessera_api_token", "TSRT", CODE_LENGTH, with_id=True)
REFRESH_TOKEN_CODE = CodeFormat("tessera_oauth_refresh_token", "TSRR", 48, with_id=False)
#: 40 random symbols, about 190 bits, for a secret that may live in a server's config for years.
CLIENT_SECRET_CODE = CodeFormat("tessera_oauth_client_secret", "TSRS", 40, with_id=False)
#: Dynamic client registration (RFC 7591/7592): what lets a client register, and what lets a
#: registered client read, change or delete its registration.
INITIAL_ACCESS_TOKEN_CODE = CodeFormat("tessera_initial_access_token", "TSRQ", 40, with_id=False)
REGISTRATION_TOKEN_CODE = CodeFormat("tessera_registration_token", "TSRG", 40, with_id=False)
#: The code in a magic sign-in link sent by e-mail (shared/spec §8.3, ADR 0048): lives minutes,
#: used once; "M" for mail.
MAGIC_LINK_CODE = CodeFormat("tessera_magic_link", "TSRM", 40, with_id=False)
#: Every kind Tessera issues: each is recognised by its prefix and checksum, listed for
#: scanners (docs/secret-scanning.md) and answered by the partner endpoint.
CODE_FORMATS = (
    API_KEY_CODE,
    API_TOKEN_CODE,
    REFRESH_TOKEN_CODE,
    CLIENT_SECRET_CODE,
    INITIAL_ACCESS_TOKEN_CODE,
    REGISTRATION_TOKEN_CODE,
    MAGIC_LINK_CODE,
)
_BY_PREFIX = {code_format.prefix: code_format for code_format in CODE_FORMATS}
_PREFIX_LENGTH = 4


def checksum(body: str) -> str:
    """CRC-32 of ``body`` in seven symbols of the alphabet, most significant first."""
    value = zlib.crc32(body.encode("ascii"))
    symbols = []
    for _ in range(CHECKSUM_LENGTH):
        value, digit = divmod(value, _BASE)
        symbols.append(CODE_ALPHABET[digit])
    return "".join(reversed(symbols))


def format_of(code: str) -> CodeFormat | None:
    """The kind a code claims by its prefix and length; None for any other code (older ones)."""
    code_format = _BY_PREFIX.get(code[:_PREFIX_LENGTH])
    if code_format is None or len(code) != code_format.length:
        return None
    return code_format


# Read back, the checksum is a base-27 number: each symbol becomes Python's digit of the same
# value, so that ``int(…, 27)`` decodes it in C. Every other byte becomes "!", which no ``int``
# accepts (it would otherwise read "0", "E", "_", blanks or signs as digits of its own).
_PYTHON_DIGITS = "0123456789abcdefghijklmnopq"
_AS_DIGITS = bytes(
    ord(_PYTHON_DIGITS[CODE_ALPHABET.index(chr(n))]) if chr(n) in CODE_ALPHABET else ord("!")
    for n in range(256)
)


def checksum_holds(code: str) -> bool:
    """Whether the last seven symbols are the checksum of the rest.

    A plain comparison: the checksum is public (anyone can compute it), so its timing tells
    nothing an attacker does not already know. On the per-request path, so decoded in C rather
    than encoded again symbol by symbol.
    """
    if len(code) <= CHECKSUM_LENGTH or not code.isascii():
        return False
    raw = code.encode("ascii")
    try:
        stated = int(raw[-CHECKSUM_LENGTH:].translate(_AS_DIGITS), _BASE)
    except ValueError:
        return False
    return stated == zlib.crc32(raw[:-CHECKSUM_LENGTH])


def is_forged(code: str) -> bool:
    """A code that claims to be one of ours (prefix and length) but fails its checksum.

    Such a code cannot verify: it can be refused before any database read. Any other code,
    an older one included, is left to the usual check.
    """
    return format_of(code) is not None and not checksum_holds(code)
