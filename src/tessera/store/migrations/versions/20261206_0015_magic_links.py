"""magic links (shared/spec §8.3): sign-in links sent by e-mail

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tessera.store.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "magic_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("code_digest", sa.LargeBinary(length=33), nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("used_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_magic_links_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_magic_links")),
        sa.UniqueConstraint("code_digest", name=op.f("uq_magic_links_code_digest")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_magic_links_person_id"), "magic_links", ["person_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_magic_links_person_id"), table_name="magic_links")
    op.drop_table("magic_links")
