"""The HTTP adapter: FastAPI routes that translate requests into service calls and back.

May import: tessera.core, tessera.services, FastAPI/Starlette. Never tessera.store (data goes
through services) and never the settings (checked by import-linter).
"""
