"""What each granted scope allows, in words, for the consent page (ADR 0042).

Made from the endpoint tags a pattern matches (``ScopeCatalogue``): a tag is
``group.resource.operation``; the resource gives the noun (Tessera's own have names written
for people, a guarded API's are its words: ``tickets.messages`` → "tickets messages"), the
operation the verb (``list``, ``get`` → read; ``post``, ``put`` → change; ``delete``). So
``tickets.*`` reads "Read, change and delete tickets", ``-*.delete`` "Except deleting
anything", ``session`` "Everything you can do through the API". Plain text: the page escapes.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from tessera.core.oauth_scopes import SESSION_SCOPE, ScopeCatalogue, scope_values
from tessera.core.tags import TagPolicy

#: Tessera's own resources, as a person would name them.
_OWN_NOUNS = {
    "api_keys.api_keys": "API keys",
    "api_tokens.api_tokens": "everyone's API tokens",
    "api_tokens.session": "console session tokens with all your rights",
    "audit.audit_events": "the audit trail",
    "authz.changes": "the stream of revoked credentials",
    "helpdesk.agent_client": "the helpdesk's settings for apps",
    "me.api_tokens": "your API tokens",
    "me.connected_apps": "your connected apps",
    "me.device_setup_token": "set-up codes that give a device all your rights",
    "me.me": "who you are",
    "me.password": "your password",
    "me.profile": "your profile",
    "me.sessions": "your signed-in browsers",
    "me.sign_ins": "your recent sign-ins",
    "oauth_clients.oauth_clients": "OAuth apps",
    "people.people": "people",
    "user_sources.user_sources": "the identity providers people sign in through",
}
_READ, _CREATE, _CHANGE, _DELETE, _USE = "read", "create", "change", "delete", "use"
_VERB_ORDER = (_READ, _CREATE, _CHANGE, _DELETE, _USE)
_GERUNDS = {
    _READ: "reading",
    _CREATE: "creating",
    _CHANGE: "changing",
    _DELETE: "deleting",
    _USE: "using",
}
#: Reads that issue a credential: said as what they are.
_OWN_VERBS = {"me.device_setup_token.get": _CREATE, "api_tokens.session.get": _CREATE}
_OPERATIONS = {
    **dict.fromkeys(
        ("get", "list", "info", "export", "counts", "connections", "tag_check", "search"), _READ
    ),
    **dict.fromkeys(
        ("post", "put", "patch", "create", "update", "regenerate", "rotate_secret"), _CHANGE
    ),
    **dict.fromkeys(("delete", "remove"), _DELETE),
}
#: OpenID Connect's scopes (Core §5.4, §11), in the words of docs/oidc.md.
_OPENID_WORDS = {
    "openid": "Know who you are: your account's number on this helpdesk",
    "profile": "See your name, your time zone and your e-mail address as your user name",
    "email": "See your e-mail address",
    "offline_access": "Keep this access while you are away (a refresh token)",
}
EVERYTHING_WORDS = "Everything you can do through the API"


@dataclass(frozen=True, slots=True)
class ScopeLine:
    """One granted scope value and what it allows, in words."""

    value: str
    words: str


def describe_scope(scope: str, catalogue: ScopeCatalogue) -> list[ScopeLine]:
    """A line for each value of a granted scope, in its order."""
    values = scope_values(scope)
    allows = [v for v in values if v not in _OPENID_WORDS and not v.startswith("-")]
    allowed = TagPolicy(tuple("*" if v == SESSION_SCOPE else v for v in allows), ())
    lines = []
    for value in values:
        if value in _OPENID_WORDS:
            words = _OPENID_WORDS[value]
        elif value == SESSION_SCOPE:
            words = EVERYTHING_WORDS
        elif value.startswith("-"):
            tags = [t for t in sorted(catalogue.tags) if _matches(value[1:], t)]
            words = _except(value[1:], [t for t in tags if allowed.allows(t)])
        else:
            tags = [t for t in sorted(catalogue.tags) if _matches(value, t)]
            words = _capitalised(_actions(tags)) if tags else f"Call the endpoints tagged {value}"
        lines.append(ScopeLine(value, words))
    return lines


def _matches(pattern: str, tag: str) -> bool:
    return TagPolicy((pattern,), ()).allows(tag)


def _except(pattern: str, tags: list[str]) -> str:
    if not tags:
        return f"Except the endpoints tagged {pattern}"
    if pattern.startswith("*"):  # no group named: the operations, wherever they are
        verbs = _ordered({_verb(tag) for tag in tags})
        return f"Except {_listed([_GERUNDS[verb] for verb in verbs])} anything"
    return f"Except: {_actions(tags)}"


def _actions(tags: Iterable[str]) -> str:
    """``read and change tickets; read people``: nouns grouped by what may be done to them."""
    verbs_of: dict[str, set[str]] = {}
    for tag in tags:
        verbs_of.setdefault(_noun(tag), set()).add(_verb(tag))
    by_verbs: dict[tuple[str, ...], list[str]] = {}
    for noun, verbs in verbs_of.items():
        by_verbs.setdefault(tuple(_ordered(verbs)), []).append(noun)
    return "; ".join(
        f"{_listed(list(verbs))} {_listed(nouns)}" for verbs, nouns in by_verbs.items()
    )


def _noun(tag: str) -> str:
    parts = tag.split(".")
    if len(parts) == 1:
        return parts[0].replace("_", " ")
    resource = ".".join(parts[:2])
    if resource in _OWN_NOUNS:
        return _OWN_NOUNS[resource]
    group, name = parts[0], parts[1]
    words = group if name == group else f"{group} {name}"
    return words.replace("_", " ")


def _verb(tag: str) -> str:
    if tag in _OWN_VERBS:
        return _OWN_VERBS[tag]
    parts = tag.split(".")
    return _OPERATIONS.get(parts[-1], _USE) if len(parts) > 1 else _USE


def _ordered(verbs: Iterable[str]) -> list[str]:
    return sorted(verbs, key=_VERB_ORDER.index)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
