"""account: where sessions come from, and device-setup codes kept once used

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_address', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), nullable=True))
    with op.batch_alter_table('device_setup_codes', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('used_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('device_setup_codes', schema=None) as batch_op:
        batch_op.drop_column('used_at')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
        batch_op.drop_column('client_address')
