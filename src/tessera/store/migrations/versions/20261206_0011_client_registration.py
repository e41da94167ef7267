"""client registration: metadata-document and dynamically registered clients (RFC 7591/7592)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tessera.store.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(length=16), server_default="console", nullable=False)
        )
        batch.add_column(sa.Column("document_url", sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column("document_expires_at", _TIME, nullable=True))
        batch.add_column(sa.Column("client_metadata", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("registration_token_digest", sa.LargeBinary(length=33), nullable=True)
        )
        # A unique index, not a constraint: SQLite adds it without rebuilding the table.
        batch.create_index(op.f("ix_oauth_clients_document_url"), ["document_url"], unique=True)
    op.create_table(
        "oauth_initial_access_tokens",
        sa.Column("id", _ID, nullable=False),
        sa.Column("token_digest", sa.LargeBinary(length=33), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("used_at", _TIME, nullable=True),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["people.id"],
            name=op.f("fk_oauth_initial_access_tokens_created_by_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_initial_access_tokens")),
        sa.UniqueConstraint(
            "token_digest", name=op.f("uq_oauth_initial_access_tokens_token_digest")
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("oauth_initial_access_tokens")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_index(op.f("ix_oauth_clients_document_url"))
        batch.drop_column("registration_token_digest")
        batch.drop_column("client_metadata")
        batch.drop_column("document_expires_at")
        batch.drop_column("document_url")
        batch.drop_column("origin")
