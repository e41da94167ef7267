"""private_key_jwt: a client's token endpoint method and public keys; assertions used once

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tessera.store.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    # Every existing client keeps its method: a secret, or none when public (NULL here).
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("token_endpoint_auth_method", sa.String(32), nullable=True))
        batch.add_column(sa.Column("jwks_uri", sa.String(2000), nullable=True))
        batch.add_column(sa.Column("jwks", sa.JSON(), nullable=True))
    op.create_table(
        "oauth_client_assertions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column("jti_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.id"],
            name=op.f("fk_oauth_client_assertions_client_id_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_client_assertions")),
        sa.UniqueConstraint(
            "client_id", "jti_digest", name=op.f("uq_oauth_client_assertions_client_id")
        ),
    )
    op.create_index(
        op.f("ix_oauth_client_assertions_expires_at"),
        "oauth_client_assertions",
        ["expires_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_oauth_client_assertions_expires_at"), table_name="oauth_client_assertions"
    )
    op.drop_table("oauth_client_assertions")
    # A private_key_jwt client has no secret: after the downgrade it is a confidential client
    # without one, which authenticates no more until an admin gives it a secret.
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("jwks")
        batch.drop_column("jwks_uri")
        batch.drop_column("token_endpoint_auth_method")
