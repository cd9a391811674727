"""The API document tells every error answer with the one error body the API sends."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from okno.schemas import MAX_ID
from tests.factories.personas import Personas

WRITES = {"post", "put", "patch", "delete"}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_operation_documents_its_error_answers_with_the_error_body(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    assert "HTTPValidationError" not in str(document)  # FastAPI's validation body, which is never sent
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, method, op in operations(document):
        answers = op["responses"]
        for code, answer in answers.items():
            if code.startswith("4"):
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        expected = {"401", "403"} if op.get("security") else set()
        expected |= {"404"} if "{" in path else set()
        expected |= {"409"} if method in WRITES else set()
        expected |= {"400", "413"} if "requestBody" in op else set()
        expected |= {"422"} if op.get("parameters") or "requestBody" in op else set()
        assert expected <= set(answers), (method, path, sorted(answers))
    sign_in = document["paths"]["/api/v1/auth/tokens"]["post"]["responses"]
    assert {"401", "429"} <= set(sign_in)


def test_the_documented_error_body_is_the_one_sent(client: TestClient, people: Personas) -> None:
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["Error"]
    fields = set(schema["properties"]["error"]["required"])
    json_body = {**people.admin.headers, "Content-Type": "application/json"}
    answers = [
        client.get("/api/v1/tickets"),  # 401
        client.get("/api/v1/tickets/999999", headers=people.agent.headers),  # 404
        client.get("/api/v1/tickets", params={"limit": 0}, headers=people.agent.headers),  # 422
        client.post("/api/v1/teams", json={"name": "Billing"}, headers=people.agent.headers),  # 403
        client.post("/api/v1/teams", content=b"\xff{", headers=json_body),  # 400
    ]
    assert [a.status_code for a in answers] == [401, 404, 422, 403, 400]
    assert answers[-1].json()["error"]["code"] == "malformed_body"
    for answer in answers:
        assert set(answer.json()) == {"error"} and set(answer.json()["error"]) == fields


def integers(schema: dict[str, Any], where: str, schemas: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every integer a request may carry under ``schema``, with where it is."""
    if "$ref" in schema:
        return integers(schemas[schema["$ref"].rsplit("/", 1)[1]], where, schemas)
    found = [(where, schema)] if schema.get("type") == "integer" else []
    for part in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        found += integers(part, where, schemas)
    for name, part in schema.get("properties", {}).items():
        found += integers(part, f"{where}.{name}", schemas)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += integers(schema[key], f"{where}[]", schemas)
    return found


def test_every_integer_a_request_carries_is_bounded(client: TestClient) -> None:
    # A number past what the databases hold reached them and was answered 500 (schemas.Id).
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    unbounded = []
    for path, method, op in operations(document):
        carried = [(f"{p['in']} {p['name']}", p["schema"]) for p in op.get("parameters", [])]
        carried += [("body", c["schema"]) for c in op.get("requestBody", {}).get("content", {}).values()]
        for where, schema in carried:
            for field, integer in integers(schema, where, schemas):
                # The document may carry the bound as a float, which rounds 2^63 - 1 up to 2^63.
                if integer.get("maximum", float("inf")) > MAX_ID + 1:
                    unbounded.append(f"{method} {path} {field}")
    assert unbounded == []
