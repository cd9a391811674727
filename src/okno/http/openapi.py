"""The error answers in the API's OpenAPI document.

Every error has one body, ``{"error": {"code", "message", "details"}}`` (``errors.error_body``).
FastAPI documents only its own validation error, with a body Okno never sends. Which errors an
operation can answer follows from what it is, so they are filled in here for all of them: 401 and
403 where it takes a token, 404 where its path names an object, 409 for a change, 400 and 413
where it takes a body, 422 where it takes any input. An operation declares the others it can
answer (a 429 of a rate limit) in its route's ``responses``; this gives them the error body too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable and machine-readable: validation_error, not_found, "
                    "invalid_transition, rate_limited, …",
                },
                "message": {"type": "string", "description": "For people, in English."},
                "details": {
                    "description": "For validation_error and invalid: a list of {field, reason}; "
                    "otherwise an object, often empty.",
                    "anyOf": [{"type": "array", "items": {"type": "object"}}, {"type": "object"}],
                },
            },
        }
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_WRITES = {"post", "put", "patch", "delete"}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _answers(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    answers: dict[str, str] = {}
    if operation.get("security"):
        answers["401"] = "No token, or one that is unknown, revoked or of a deactivated user"
        answers["403"] = "The caller's role may not do this"
    if "{" in path:
        answers["404"] = "No such object, or one the caller may not see"
    if method in _WRITES:
        answers["409"] = "The change conflicts with the object's state (an invalid status transition, say)"
    if "requestBody" in operation:
        answers["400"] = "The body cannot be read (not UTF-8, or a broken form)"
        answers["413"] = "The body is over the size limit"
    if operation.get("parameters") or "requestBody" in operation:
        answers["422"] = "Invalid input; details name the fields"
    return answers


def _document(schema: dict[str, Any]) -> None:
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code, description in _answers(path, method, operation).items():
                # A route's own description of an answer stays; FastAPI's of its 422 does not.
                if code not in responses or code == "422":
                    responses[code] = {"description": description}
            for code, response in responses.items():
                if code.startswith("4"):
                    response["content"] = {"application/json": {"schema": _ERROR_REF}}
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas["Error"] = ERROR_SCHEMA


def document_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document(generate())  # FastAPI keeps what it generated in app.openapi_schema
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
