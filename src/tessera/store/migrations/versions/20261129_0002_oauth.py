"""oauth clients grants codes refresh tokens web sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:13:45.695501
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tessera.store.tables

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oauth_clients',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('random_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('context', sa.String(length=16), nullable=False),
    sa.Column('redirect_uris', sa.JSON(), nullable=False),
    sa.Column('allowed_grant_type', sa.String(length=32), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('secret_digest', sa.LargeBinary(length=32), nullable=True),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_clients')),
    sqlite_autoincrement=True
    )
    op.create_table('oauth_grants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_clients.id'], name=op.f('fk_oauth_grants_client_id_oauth_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_oauth_grants_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_grants')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('oauth_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_grants_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth_grants_person_id'), ['person_id'], unique=False)

    op.create_table('web_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_web_sessions_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_web_sessions_token_digest')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_person_id'), ['person_id'], unique=False)

    op.create_table('oauth_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=True),
    sa.Column('code_challenge_method', sa.String(length=16), nullable=True),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['oauth_grants.id'], name=op.f('fk_oauth_codes_grant_id_oauth_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_codes')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_oauth_codes_code_digest')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('oauth_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_codes_grant_id'), ['grant_id'], unique=False)

    op.create_table('oauth_refresh_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('access_token_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', tessera.store.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['access_token_id'], ['api_tokens.id'], name=op.f('fk_oauth_refresh_tokens_access_token_id_api_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grant_id'], ['oauth_grants.id'], name=op.f('fk_oauth_refresh_tokens_grant_id_oauth_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_refresh_tokens')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_oauth_refresh_tokens_token_digest')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('oauth_refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_refresh_tokens_grant_id'), ['grant_id'], unique=False)

    with op.batch_alter_table(
        'api_tokens', schema=None, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.add_column(sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_tokens_grant_id'), ['grant_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_grant_id_oauth_grants'), 'oauth_grants', ['grant_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table(
        'api_tokens', schema=None, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_grant_id_oauth_grants'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_tokens_grant_id'))
        batch_op.drop_column('grant_id')

    with op.batch_alter_table('oauth_refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_refresh_tokens_grant_id'))

    op.drop_table('oauth_refresh_tokens')
    with op.batch_alter_table('oauth_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_codes_grant_id'))

    op.drop_table('oauth_codes')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_person_id'))

    op.drop_table('web_sessions')
    with op.batch_alter_table('oauth_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_grants_person_id'))
        batch_op.drop_index(batch_op.f('ix_oauth_grants_client_id'))

    op.drop_table('oauth_grants')
    op.drop_table('oauth_clients')
