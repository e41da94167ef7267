"""Our request snapshot as Authlib's ``OAuth2Request`` (the Flask integration's role)."""

from collections import defaultdict
from typing import Any

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request

from tessera.oauth.messages import OAuthRequest


class _Payload(OAuth2Payload):
    def __init__(self, snapshot: OAuthRequest) -> None:
        # Query parameters for GET (authorize), the form for POST (token, consent, revoke).
        merged: dict[str, list[str]] = defaultdict(list)
        for source in (snapshot.query, snapshot.form):
            for name, values in source.items():
                merged[name].extend(values)
        self._datalist = merged
        self._data = {name: values[0] for name, values in merged.items() if values}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class SnapshotRequest(OAuth2Request):
    def __init__(self, snapshot: OAuthRequest) -> None:
        super().__init__(method=snapshot.method, uri=snapshot.url, headers=snapshot.headers)
        self.payload = _Payload(snapshot)
        self._snapshot = snapshot

    @property
    def args(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._snapshot.query.items() if values}

    @property
    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._snapshot.form.items() if values}


class _JsonPayload(JsonPayload):
    def __init__(self, data: dict[str, Any]) -> None:
        self._json = data

    @property
    def data(self) -> dict[str, Any]:
        return self._json


class SnapshotJsonRequest(JsonRequest):
    def __init__(self, snapshot: OAuthRequest) -> None:
        super().__init__(snapshot.method, snapshot.url, snapshot.headers)
        self.payload = _JsonPayload(dict(snapshot.json or {}))
