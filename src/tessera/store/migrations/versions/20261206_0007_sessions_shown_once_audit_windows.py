"""sessions' last request, secrets waiting to be shown once, repeated audit events per window

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_seen_at", tessera.store.tables.UtcDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_key", sa.String(length=160), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "last_occurred_at", tessera.store.tables.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_audit_events_window_key"), ["window_key"]
        )
    op.create_table(
        "shown_once",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["web_sessions.id"],
            name=op.f("fk_shown_once_session_id_web_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shown_once")),
        sa.UniqueConstraint("session_id", "subject", name="uq_shown_once_session_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_shown_once_expires_at"), "shown_once", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_shown_once_expires_at"), table_name="shown_once")
    op.drop_table("shown_once")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_window_key"), type_="unique")
        batch_op.drop_column("last_occurred_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("window_key")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
