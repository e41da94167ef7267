"""The command line (Typer): the same use cases as the API, for operators and scripts.

May import: tessera.core, tessera.services, tessera.store (engines and migrations only),
tessera.bootstrap, tessera.settings, tessera.logs. Never a web framework nor tessera.web or
tessera.app (checked by import-linter): ``serve`` names the app factory to uvicorn as a string.
"""
