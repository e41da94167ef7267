"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 09:16:04.693515
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('people',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('primary_email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=False),
    sa.Column('last_name', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('emails', sa.JSON(), nullable=False),
    sa.Column('is_agent', sa.Boolean(), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('is_disabled', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('identity_provider', sa.String(length=100), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('language_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('primary_email', name=op.f('uq_people_primary_email')),
    sqlite_autoincrement=True,
    )
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('is_superuser', sa.Boolean(), nullable=False),
    sa.Column('admin_api', sa.Boolean(), nullable=False),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('regenerated_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_used_address', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_api_keys_person_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_person_id'), ['person_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=50), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_used_address', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_api_tokens_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_person_id'), ['person_id'], unique=False)

    op.create_table('device_setup_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_device_setup_codes_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_setup_codes')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_device_setup_codes_code_digest')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('device_setup_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_setup_codes_person_id'), ['person_id'], unique=False)

    op.create_table('person_emails',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_emails_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_emails')),
    sa.UniqueConstraint('email', name=op.f('uq_person_emails_email')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('person_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_emails_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('person_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_emails_person_id'))

    op.drop_table('person_emails')
    with op.batch_alter_table('device_setup_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_setup_codes_person_id'))

    op.drop_table('device_setup_codes')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_person_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_person_id'))

    op.drop_table('api_keys')
    op.drop_table('people')
