"""OAuth scopes as tag patterns: a client's allowed scopes, an access token's own scope

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every client registered before may be granted what it always was: "session".
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "allowed_scopes",
                sa.String(length=1000),
                server_default="session",
                nullable=False,
            )
        )
    # An OAuth access token holds the scope it was granted (its tag limit), not only "session".
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "scope",
            existing_type=sa.String(length=50),
            type_=sa.String(length=500),
            existing_nullable=False,
        )


def downgrade() -> None:
    # Access tokens with another scope would lose their limit (or not fit): they go, rather
    # than be widened to "session"; their apps refresh (refresh tokens stay with the grant).
    op.execute("DELETE FROM api_tokens WHERE scope NOT IN ('client', 'session')")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "scope",
            existing_type=sa.String(length=500),
            type_=sa.String(length=50),
            existing_nullable=False,
        )
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("allowed_scopes")
