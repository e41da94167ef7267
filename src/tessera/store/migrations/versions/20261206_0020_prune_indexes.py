"""Indexes for pruning: the times housekeeping deletes by

Each prune batch picked its rows by a full scan of its table, inside a write transaction: on
SQLite the one writer was held while every row of api_keys, web_sessions and the OAuth tables
was read, every few minutes and in every process, however few rows had ended (issue #16, the
soak's memory). With these, a batch reads only the rows that ended.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 21:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column) pairs housekeeping deletes by.
_INDEXED = (
    ("api_keys", "revoked_at"),
    ("device_setup_codes", "expires_at"),
    ("magic_links", "expires_at"),
    ("oauth_grants", "created_at"),
    ("oauth_grants", "revoked_at"),
    ("oauth_codes", "expires_at"),
    ("oauth_refresh_tokens", "expires_at"),
    ("web_sessions", "expires_at"),
    ("web_sessions", "revoked_at"),
    ("oauth_device_authorizations", "expires_at"),
)


def upgrade() -> None:
    for table, column in _INDEXED:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(_INDEXED):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
