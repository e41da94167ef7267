"""SAML 2.0 user sources: the IdP's metadata on the source, and the assertions already used

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tessera.store.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("user_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idp_metadata", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("idp_metadata_url", sa.String(length=2000), nullable=True))
    op.create_table(
        "saml_assertions_seen",
        sa.Column("id", _ID, nullable=False),
        sa.Column("source_id", _ID, nullable=False),
        sa.Column("assertion_id", sa.String(length=255), nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["user_sources.id"],
            name=op.f("fk_saml_assertions_seen_source_id_user_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_assertions_seen")),
        sa.UniqueConstraint(
            "source_id", "assertion_id", name=op.f("uq_saml_assertions_seen_source_id")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("saml_assertions_seen", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saml_assertions_seen_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("saml_assertions_seen")
    with op.batch_alter_table("user_sources", schema=None) as batch_op:
        batch_op.drop_column("idp_metadata_url")
        batch_op.drop_column("idp_metadata")
