"""The error bodies of the REST API, and their place in the OpenAPI schema.

Every error answers ``{"detail": …}``: a message (400, 401, 403, 404, 429), the refused
fields with their messages (422 from our own rules) or pydantic's list of errors (422 when
the request does not match the schema).

Routers declare the errors of their own rules (``errors(403, 404)``); the ones the API
itself may answer on any operation (``COMMON_ERRORS``) are added to the schema by
``document_common_errors``, so that no router can forget them.
"""

from http import HTTPStatus
from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    detail: str | dict[str, list[str]] | list[dict[str, Any]]


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """``{403: ErrorOut, …}`` for ``Router.get(…, response={200: X, **errors(403, 404)})``."""
    return dict.fromkeys(codes, ErrorOut)


# Kept for routers that declare them themselves; ``document_common_errors`` adds them anyway.
AUTH_ERRORS = errors(401, 429)
BODY_ERRORS = errors(400, 422)


def _common_codes(method: str, operation: dict[str, Any]) -> list[HTTPStatus]:
    codes = [HTTPStatus.TOO_MANY_REQUESTS]  # every operation is throttled
    if operation.get("security"):
        codes.append(HTTPStatus.UNAUTHORIZED)
        if method not in ("get", "head", "options"):
            codes.append(HTTPStatus.FORBIDDEN)  # a session call without its CSRF token
    if operation.get("parameters") or "requestBody" in operation:
        codes.append(HTTPStatus.UNPROCESSABLE_ENTITY)
    if "requestBody" in operation:
        codes.append(HTTPStatus.BAD_REQUEST)  # a body that is not JSON at all
    return codes


def document_common_errors(schema: dict[str, Any]) -> None:
    """Add the errors any operation may answer to each operation of an OpenAPI ``schema``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorOut", ErrorOut.model_json_schema())
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code in _common_codes(method, operation):
                # ninja keys responses by int; a str key would be a duplicate once in JSON.
                if int(code) not in responses and str(int(code)) not in responses:
                    responses[int(code)] = {"description": code.phrase, "content": body}
