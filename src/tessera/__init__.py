"""Tessera: a self-hosted API credential server, wire-compatible with Deskpro's API v2 auth."""

__version__ = "0.1.0"
