"""Request ids, security headers, and logs without secrets."""

from __future__ import annotations

import json

import pytest

from tests.builders import bearer, running_app, token


async def test_every_answer_carries_a_request_id() -> None:
    async with running_app() as client:
        response = await client.get("/health")
    assert len(response.headers["x-request-id"]) >= 8


async def test_a_well_formed_incoming_request_id_is_kept() -> None:
    async with running_app() as client:
        response = await client.get("/health", headers={"X-Request-ID": "proxy-abc-12345"})
    assert response.headers["x-request-id"] == "proxy-abc-12345"


async def test_api_answers_carry_security_headers_and_no_store() -> None:
    value = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/me", headers=bearer(value))
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_the_openapi_document_and_its_ui_are_served() -> None:
    async with running_app() as client:
        document = await client.get("/schema/openapi.json")
        ui = await client.get("/schema")
    assert document.status_code == 200
    assert "/api/v1/members" in document.json()["paths"]
    assert ui.status_code == 200
    assert "text/html" in ui.headers["content-type"]


async def test_logs_are_json_with_the_request_id_and_never_the_token(
    capfd: pytest.CaptureFixture[str],
) -> None:
    value = await token("HZD", "buyer")
    async with running_app(log_format="json", log_level="INFO") as client:
        response = await client.get("/api/v1/me", headers={**bearer(value), "X-Request-ID": "log-test-0001"})
    output = capfd.readouterr().err
    assert value not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("event") == "request" and line.get("path") == "/api/v1/me"]
    assert request_lines
    assert request_lines[-1]["request_id"] == "log-test-0001"
    assert request_lines[-1]["status"] == response.status_code


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/no-such-path"])
async def test_error_answers_carry_the_request_id_and_security_headers(path: str) -> None:
    async with running_app() as client:
        response = await client.get(path, headers={"X-Request-ID": "error-path-0001"})
    assert response.status_code in (401, 404)
    assert response.headers["x-request-id"] == "error-path-0001"
    assert response.json()["request_id"] == "error-path-0001"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_401_challenges_for_a_bearer_token() -> None:
    async with running_app() as client:
        response = await client.get("/api/v1/me", headers={"Authorization": "Bearer mkp_unknown"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("app_number", [1, 2])
async def test_the_openapi_document_of_every_app_closes_strict_inputs_and_frees_optional_bodies(
    app_number: int,
) -> None:
    # The finished document is built once per process and handed to later apps: the second app must get it too.
    async with running_app() as client:
        document = (await client.get("/schema/openapi.json")).json()
    assert document["components"]["schemas"]["MemberCreate"]["additionalProperties"] is False
    terminate = document["paths"]["/api/v1/agreements/{agreement_id}/terminate"]["post"]
    assert terminate["requestBody"]["required"] is False
