"""User sources (external identity providers) and the links of their subjects to people

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tessera.store.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "user_sources",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=2000), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("secret_key_version", sa.Integer(), nullable=True),
        sa.Column("email_claim", sa.String(length=100), nullable=False),
        sa.Column("name_claim", sa.String(length=100), nullable=False),
        sa.Column("groups_claim", sa.String(length=100), nullable=True),
        sa.Column("agent_groups", sa.JSON(), nullable=False),
        sa.Column("admin_groups", sa.JSON(), nullable=False),
        sa.Column("create_unknown", sa.Boolean(), nullable=False),
        sa.Column("link_by_email", sa.Boolean(), nullable=False),
        sa.Column("offered_to", sa.String(length=10), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("display_order", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sources")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "user_source_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("source_id", _ID, nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_sign_in_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_user_source_links_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["user_sources.id"],
            name=op.f("fk_user_source_links_source_id_user_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_source_links")),
        sa.UniqueConstraint("source_id", "subject", name=op.f("uq_user_source_links_source_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("user_source_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_source_links_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_user_source_links_source_id"), ["source_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("user_source_links")
    op.drop_table("user_sources")
