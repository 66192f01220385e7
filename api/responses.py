"""JSON responses serialised with orjson (the hot path of every route)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    """application/json rendered by orjson (a JSONResponse, so OpenAPI keeps response models)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """The body's bytes."""
        return orjson.dumps(content)
