"""The command line (Typer): the same use cases as the API, for operators and scripts.

May import: tessera.core, tessera.services, tessera.store (migrations only), tessera.bootstrap,
tessera.settings. Never a web framework (checked by import-linter).
"""
