"""RFC 9068 JWT access tokens: each client's access token format; how people signed in (acr)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every client registered so far keeps what it has had: Deskpro's opaque ID:CODE tokens.
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "access_token_format",
                sa.String(length=16),
                server_default="opaque",
                nullable=False,
            )
        )
    # Unknown for what exists: such sessions and grants give no acr or amr.
    for table in ("web_sessions", "oauth_grants"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("sign_in_method", sa.String(length=32), nullable=True))


def downgrade() -> None:
    for table in ("oauth_grants", "web_sessions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("sign_in_method")
    # The JWT access tokens already issued stay valid rows; their clients get opaque ones next.
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("access_token_format")
