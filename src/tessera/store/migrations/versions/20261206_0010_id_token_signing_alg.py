"""OpenID Connect: the algorithm that signs each client's ID tokens

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every client registered so far gets what it has had: RS256 (OpenID Connect Registration §2).
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "id_token_signed_response_alg",
                sa.String(length=16),
                server_default="RS256",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("id_token_signed_response_alg")
