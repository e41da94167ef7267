"""How ``POST /oauth/device_authorization`` is described (the route reads its form itself)."""

from typing import Any

DEVICE_AUTHORIZATION_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["client_id"],
                    "properties": {
                        "client_id": {
                            "type": "string",
                            "description": "A client allowed the `device_code` grant type;"
                            " a confidential client may authenticate with HTTP Basic instead.",
                        },
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    },
    "responses": {
        "200": {
            "description": "Show `user_code` and `verification_uri` to the person; poll the"
            " token endpoint with `device_code` every `interval` seconds.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": [
                            "device_code",
                            "user_code",
                            "verification_uri",
                            "verification_uri_complete",
                            "expires_in",
                            "interval",
                        ],
                        "properties": {
                            "device_code": {"type": "string"},
                            "user_code": {"type": "string", "examples": ["BCDF-GHJK"]},
                            "verification_uri": {"type": "string", "format": "uri"},
                            "verification_uri_complete": {"type": "string", "format": "uri"},
                            "expires_in": {"type": "integer"},
                            "interval": {"type": "integer"},
                        },
                    }
                }
            },
        }
    },
}
