"""setup codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 11:21:01.375975
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('setup_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_setup_codes')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_setup_codes_code_digest')),
    sqlite_autoincrement=True
    )


def downgrade() -> None:
    op.drop_table('setup_codes')
