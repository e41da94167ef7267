"""Typed ids. Keys and tokens live in separate id spaces (Deskpro's, too): mypy keeps them apart."""

from typing import NewType

PersonId = NewType("PersonId", int)
ApiKeyId = NewType("ApiKeyId", int)
ApiTokenId = NewType("ApiTokenId", int)
