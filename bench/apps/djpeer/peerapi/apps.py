# The Django peer, as in the team's shared harness; not type-checked or linted here.
from django.apps import AppConfig


class PeerapiConfig(AppConfig):
    name = "peerapi"
    default_auto_field = "django.db.models.BigAutoField"
