"""The domain: pure values and rules, no I/O.

May import: the standard library and argon2-cffi. Never a web framework, the database layer,
or the settings (checked by import-linter).
"""
