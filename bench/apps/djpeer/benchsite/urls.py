# The Django peer, as in the team's shared harness; not type-checked or linted here.
from django.urls import include, path

from peerapi import views

urlpatterns = [
    # "dot" peer: OAuth2 bearer tokens issued by django-oauth-toolkit.
    path("api/v2/me", views.MeOAuth2.as_view()),
    # "drf-token" peer: DRF's own TokenAuthentication ("Authorization: Token <key>").
    path("api/v2/me-drftoken", views.MeDrfToken.as_view()),
    # DOT's endpoints, /o/token/ among them.
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
