"""device authorizations (RFC 8628): devices waiting for a person's approval

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tessera.store.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oauth_device_authorizations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("device_code_digest", sa.LargeBinary(length=33), nullable=False),
        sa.Column("user_code_digest", sa.LargeBinary(length=33), nullable=True),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", _TIME, nullable=True),
        sa.Column("person_id", _ID, nullable=True),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("grant_id", _ID, nullable=True),
        sa.Column("used_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.id"],
            name=op.f("fk_oauth_device_authorizations_client_id_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["oauth_grants.id"],
            name=op.f("fk_oauth_device_authorizations_grant_id_oauth_grants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_oauth_device_authorizations_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_device_authorizations")),
        sa.UniqueConstraint(
            "device_code_digest", name=op.f("uq_oauth_device_authorizations_device_code_digest")
        ),
        sa.UniqueConstraint(
            "user_code_digest", name=op.f("uq_oauth_device_authorizations_user_code_digest")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_oauth_device_authorizations_client_id"),
        "oauth_device_authorizations",
        ["client_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_oauth_device_authorizations_person_id"),
        "oauth_device_authorizations",
        ["person_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_oauth_device_authorizations_person_id"), table_name="oauth_device_authorizations"
    )
    op.drop_index(
        op.f("ix_oauth_device_authorizations_client_id"), table_name="oauth_device_authorizations"
    )
    op.drop_table("oauth_device_authorizations")
