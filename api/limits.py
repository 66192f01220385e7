"""Request limits that apply before any route runs: body size and JSON bodies."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem
from ledger.errors import LedgerError
from verification.canonical import parse_json
from verification.errors import MalformedJSON


class BodyTooLarge(LedgerError):
    """The request body is larger than the ledger accepts."""

    slug = "request-too-large"
    status = 413


class UnsupportedMediaType(LedgerError):
    """The request body is not of the media type the route reads."""

    slug = "unsupported-media-type"
    status = 415


class MalformedBody(LedgerError):
    """The request body is not one well-formed JSON document."""

    slug = "malformed-json"
    status = 400


class BodySizeLimit:
    """ASGI middleware refusing (413) a body over `limit` bytes, whether or not it says its length."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting the body's bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(f"the request body is over the limit of {self.limit} bytes")
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413, BodyTooLarge.slug, f"the request body is over the limit of {self.limit} bytes"
        )
        await response(scope, receive, send)


JSON_MEDIA_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json", "")


async def json_only(request: Request) -> None:
    """Refuse (415) a request body that is not JSON, on every route, before anything reads it.

    Async, though it awaits nothing: FastAPI runs a sync dependency on a worker thread, and that hop
    cost more than the check on every request.
    """
    _refuse_other_media(request)


def _refuse_other_media(request: Request) -> None:
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if has_body and media not in JSON_MEDIA_TYPES:
        raise UnsupportedMediaType(f"send JSON (application/json), not {media}")


async def json_body(request: Request) -> Any:
    """The request's JSON body, parsed strictly (no duplicate keys); 415 or 400 when it is not."""
    _refuse_other_media(request)
    raw = await request.body()
    try:
        return parse_json(raw)
    except MalformedJSON as error:
        raise MalformedBody(f"the body is not one well-formed JSON document: {error}") from error
