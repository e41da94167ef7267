"""OpenID Connect: signing keys, the nonce of codes, the auth_time of grants

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("signing_algorithm", sa.String(length=16), nullable=True),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("secret_key_version", sa.Integer(), nullable=False),
        sa.Column("created_at", tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "published_until", tessera.store.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
        sa.UniqueConstraint("signing_algorithm", name=op.f("uq_signing_keys_signing_algorithm")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonce", sa.String(length=512), nullable=True))
        batch_op.create_index(batch_op.f("ix_oauth_codes_nonce"), ["nonce"], unique=False)
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth_time", tessera.store.tables.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.drop_column("auth_time")
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_codes_nonce"))
        batch_op.drop_column("nonce")
    op.drop_table("signing_keys")
