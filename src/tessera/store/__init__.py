"""Persistence: SQLAlchemy 2 tables, migrations and plain session functions.

May import: tessera.core and SQLAlchemy. Functions take a Session, return core values, and
never commit: the caller's transaction decides.
"""
