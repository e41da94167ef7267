"""``tessera.guard``: Tessera's credential check inside a Python API (``tessera[guard]``).

The package needs only httpx: it imports nothing else of Tessera, nor the server's libraries
(checked by import-linter). The framework integrations live in modules of their own and import
their framework when imported: ``tessera.guard.asgi`` (Starlette, FastAPI, any ASGI app),
``tessera.guard.fastapi``, ``tessera.guard.wsgi``, ``tessera.guard.flask``,
``tessera.guard.django``. docs/guard.md ("The Python library") has the usage.
"""

from tessera.guard.answers import UNAVAILABLE, Identity, Refusal
from tessera.guard.client import Guard
from tessera.guard.metrics import GuardMetrics

__all__ = ["UNAVAILABLE", "Guard", "GuardMetrics", "Identity", "Refusal"]
