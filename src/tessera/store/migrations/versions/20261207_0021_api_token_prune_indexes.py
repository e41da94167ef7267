"""Indexes for pruning API tokens: revoked, expired, idle, too old

Migration 0020 left the API tokens out: their idle rule was on the last use, or on the creation
of a token never used, and no index served it. Each housekeeping round read the whole tokens
table inside a write transaction (issue #16). One index per time; housekeeping asks for each
rule's rows apart, so that every read is an index search (SQLite plans an OR of three ranges
or more as a scan).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 00:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("created_at", "expires_at", "revoked_at", "last_used_at")


def upgrade() -> None:
    for column in _COLUMNS:
        op.create_index(op.f(f"ix_api_tokens_{column}"), "api_tokens", [column], unique=False)


def downgrade() -> None:
    for column in reversed(_COLUMNS):
        op.drop_index(op.f(f"ix_api_tokens_{column}"), table_name="api_tokens")
