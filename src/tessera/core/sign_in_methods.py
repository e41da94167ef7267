"""How a person proved who they are, and what OpenID Connect's ``acr`` and ``amr`` say of it.

Tessera has three ways in (ADR 0051): a password on its own sign-in page, an identity provider
(a user source, ADR 0047) and a magic link by e-mail (ADR 0048). Each is one authentication
context class of its own (OpenID Connect Core §2 ``acr``, a URN so that no relying party
mistakes it for a level of assurance it does not mean) and maps to RFC 8176 method references
(``amr``) where one fits. The values are advertised as ``acr_values_supported``.
"""

from enum import StrEnum


class SignInMethod(StrEnum):
    """As stored with a web session and with the grants it consented to."""

    PASSWORD = "password"  # noqa: S105 (a way of signing in, not a secret)
    IDENTITY_PROVIDER = "identity_provider"
    MAGIC_LINK = "magic_link"

    @property
    def acr(self) -> str:
        return _ACR[self]

    @property
    def amr(self) -> tuple[str, ...]:
        return _AMR[self]


_ACR = {
    SignInMethod.PASSWORD: "urn:tessera:acr:password",
    SignInMethod.IDENTITY_PROVIDER: "urn:tessera:acr:identity-provider",
    SignInMethod.MAGIC_LINK: "urn:tessera:acr:magic-link",
}
#: RFC 8176: ``pwd`` a password; ``otp`` a one-time secret (the link, used once, sent by
#: e-mail). An identity provider's own methods are not passed on to us (its ID token's ``amr``
#: is optional and not kept), so ``fed`` (federated) only says that one vouched.
_AMR = {
    SignInMethod.PASSWORD: ("pwd",),
    SignInMethod.IDENTITY_PROVIDER: ("fed",),
    SignInMethod.MAGIC_LINK: ("otp",),
}

#: The metadata's ``acr_values_supported``, in the order of the methods.
ACR_VALUES_SUPPORTED = tuple(method.acr for method in SignInMethod)


def sign_in_method(value: str | None) -> SignInMethod | None:
    """The stored method; None for sessions and grants from before it was kept (or unknown)."""
    try:
        return None if value is None else SignInMethod(value)
    except ValueError:
        return None
