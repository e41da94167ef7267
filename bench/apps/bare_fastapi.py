"""Physical-limit baseline: plain FastAPI, no authentication, fixed small JSON body.

Returns a dict the way a typical FastAPI route does, so FastAPI's own
serialisation path is part of what is measured.
"""

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/api/v2/me")
async def me() -> dict[str, object]:
    return {"data": {"person_id": 1, "auth_method": "none"}, "meta": {}, "linked": {}}
