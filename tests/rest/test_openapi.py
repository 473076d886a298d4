"""OpenAPI 3.1 built from the operations, and the interactive docs page."""

from __future__ import annotations

from hyperdeliver.testing import TestClient


async def test_openapi_document_describes_every_operation(client: TestClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    app = client.app
    for op in app.operations:
        path = doc["paths"][op.path][op.method.lower()]
        assert path["operationId"]
        assert "tags" in path
    create = doc["paths"]["/projects/{project_id}/tasks"]["post"]
    body_schema = create["requestBody"]["content"]["application/json"]["schema"]
    ref = body_schema["$ref"].rsplit("/", 1)[1]
    model = doc["components"]["schemas"][ref]
    assert model["properties"]["title"]["maxLength"] == 200
    assert "422" in create["responses"] and "201" in create["responses"]
    param = next(p for p in create["parameters"] if p["name"] == "project_id")
    assert param["in"] == "path" and param["required"] is True and param["schema"]["type"] == "integer"
    problem = create["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert problem["$ref"].endswith("/Problem")


async def test_openapi_declares_security(client: TestClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes
    login = doc["paths"]["/auth/login"]["post"]
    me = doc["paths"]["/auth/me"]["get"]
    assert login.get("security") in (None, [], [{}])
    assert me["security"]


async def test_docs_page_serves_vendored_swagger_ui(client: TestClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/docs/static/swagger-ui-bundle.js" in r.text
    js = await client.get("/docs/static/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert (await client.get("/docs/static/nope.js")).status_code == 404
