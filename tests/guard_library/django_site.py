"""A one-view Django site, guarded by ``tessera.guard.django`` (the URLconf of the tests)."""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from tessera.guard.django import guarded


def _who(request: HttpRequest) -> HttpResponse:
    identity = request.tessera
    body = {"person_id": identity.person_id, "credential": identity.credential}
    return HttpResponse(json.dumps(body), content_type="application/json")


def tickets(request: HttpRequest) -> HttpResponse:
    return _who(request)


@guarded
def ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _who(request)


urlpatterns: list[Any] = [
    path("tickets", tickets),
    path("tickets/<int:ticket_id>", ticket),
]
