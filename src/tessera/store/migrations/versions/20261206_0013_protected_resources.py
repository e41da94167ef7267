"""RFC 8707 resource indicators: registered resources, the audience of tokens and grants

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tessera.store.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "protected_resources",
        sa.Column("id", _ID, nullable=False),
        sa.Column("uri", sa.String(length=2000), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("client_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protected_resources")),
        sa.UniqueConstraint("uri", name=op.f("uq_protected_resources_uri")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.JSON(), nullable=True))
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resources", sa.JSON(), nullable=True))
    with op.batch_alter_table("oauth_device_authorizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resources", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_device_authorizations", schema=None) as batch_op:
        batch_op.drop_column("resources")
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.drop_column("resources")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("audience")
    op.drop_table("protected_resources")
