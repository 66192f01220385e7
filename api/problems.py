"""RFC 9457 problem details: every refusal as application/problem+json with a stable `type`."""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import DataError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.responses import Response

from api.pages.errors import error_page, is_page
from ledger.errors import LedgerError

TYPE_BASE = "https://w3id.org/learner-ledger/problems/"
MEDIA_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    415: "Unsupported media type",
    422: "Unprocessable",
    500: "Internal error",
    503: "Unavailable",
}


class Problem(BaseModel):
    """An RFC 9457 problem: how every refusal is sent (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a stable URI naming the problem, e.g. …/problems/duplicate-organisation")
    title: str
    status: int
    detail: str = Field(description="what was wrong, in a sentence")


PROBLEM_SCHEMA = Problem.model_json_schema()


def problem_responses(documented: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each refusal status with the problem types it may carry."""
    return {
        status: {"description": text, "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}
        for status, text in documented.items()
    }


BODY_PROBLEMS = {400: "malformed-json", 413: "request-too-large", 415: "unsupported-media-type"}
"""The problems any route that reads a JSON body may answer with."""


def problem_body(status: int, slug: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The JSON object of a problem (what `problem` sends)."""
    body = {
        "type": TYPE_BASE + slug,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    return {**body, **extra}


def problem(status: int, slug: str, detail: str, **extra: Any) -> Response:
    """A problem+json response."""
    body = {
        "type": TYPE_BASE + slug,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 503:
        headers["Retry-After"] = "5"
    return Response(
        orjson.dumps({**body, **extra}), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Say in the OpenAPI schema what every route really answers: a route reading a body may refuse
    it with BODY_PROBLEMS, and a 422 is a problem (FastAPI documents its own validation shape)."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                for status, slug in BODY_PROBLEMS.items():
                    responses.setdefault(
                        str(status),
                        {"description": slug, "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}},
                    )
            invalid = responses.get("422")
            if invalid is not None and MEDIA_TYPE not in invalid.get("content", {}):
                invalid["content"] = {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}
    return schema


def install(app: FastAPI) -> None:
    """Map every error to a problem: ledger refusals, bad requests, unknown routes, and bugs (500).

    A page request from a browser gets the same status as an HTML page (api.pages.errors).
    """
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(build_schema())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, error: LedgerError) -> Response:
        if is_page(request):
            return error_page(request, error.status, error.detail)
        return problem(error.status, error.slug, error.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> Response:
        problems = [
            {"where": ".".join(str(part) for part in item.get("loc", ())), "problem": item.get("msg", "")}
            for item in error.errors()
        ]
        where = ", ".join(item["where"] for item in problems) or "the request"
        return problem(422, "invalid-request", f"the request is not valid at {where}", errors=problems)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if is_page(request):
            return error_page(request, error.status_code, str(error.detail))
        # FastAPI answers a body that is not JSON with a bare 400: the documented malformed-json
        slug = {400: "malformed-json", 404: "not-found", 405: "method-not-allowed"}.get(
            error.status_code, "http-error"
        )
        return problem(error.status_code, slug, str(error.detail))

    @app.exception_handler(DataError)
    async def unstorable(_: Request, error: DataError) -> Response:
        # A value the database cannot hold (a NUL character in an id, say): the request's fault.
        return problem(422, "invalid-value", "the request holds a value the ledger cannot store or look up")

    @app.exception_handler(PersistenceError)
    async def unavailable(_: Request, error: PersistenceError) -> Response:
        return problem(503, "storage-unavailable", "the database cannot be reached; retry shortly")

    @app.exception_handler(Exception)
    async def bug(_: Request, error: Exception) -> Response:
        return problem(
            500, "internal-error", "the ledger failed unexpectedly; this is a bug, please report it"
        )
