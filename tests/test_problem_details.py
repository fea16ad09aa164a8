"""Every error is an RFC 9457 problem, never a stack trace."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from litestar import get

from marketplace.app import create_app
from tests.builders import bearer, member, running_app, settings, token

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("https://")
    return body


async def test_a_body_with_an_unknown_field_answers_422() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members",
            headers=bearer(admin),
            json={"code": "NEU", "name": "Neu", "kind": "municipality", "state": "DE-HE", "status": "active"},
        )
    body = assert_problem(response, 422)
    assert "status" in body["detail"]
    assert body["errors"]


async def test_malformed_json_answers_400() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members", headers={**bearer(admin), "content-type": "application/json"}, content=b"{nope"
        )
    assert_problem(response, 400)


async def test_a_missing_token_answers_401_with_a_bearer_challenge() -> None:
    async with running_app() as client:
        response = await client.get("/api/v1/me")
    assert_problem(response, 401)


async def test_an_unknown_token_answers_401() -> None:
    async with running_app() as client:
        response = await client.get("/api/v1/me", headers=bearer("mkp_not-a-token"))
    assert_problem(response, 401)


async def test_an_unknown_path_answers_404() -> None:
    async with running_app() as client:
        response = await client.get("/api/v1/nothing-here")
    assert_problem(response, 404)


async def test_a_wrong_method_answers_405() -> None:
    value = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.put("/api/v1/me", headers=bearer(value))
    assert_problem(response, 405)


async def test_a_body_over_the_limit_answers_413() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app(max_body_bytes=1024) as client:
        response = await client.post(
            "/api/v1/members",
            headers={**bearer(admin), "content-type": "application/json"},
            content=b'{"name": "' + b"x" * 4096 + b'"}',
        )
    assert_problem(response, 413)


async def test_a_duplicate_member_code_answers_409() -> None:
    admin = await token("KOPIT", "coop_admin")
    await member("HZD")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members",
            headers=bearer(admin),
            json={"code": "HZD", "name": "Doppelt", "kind": "state_agency", "state": "DE-HE"},
        )
    assert_problem(response, 409)


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
    ],
    ids=["sqlite", "asyncpg"],
)
async def test_an_integrity_error_of_either_driver_answers_409(error: Exception) -> None:
    @get("/api/v1/boom", sync_to_thread=False)
    def boom() -> None:
        raise error

    app = create_app(settings())
    app.register(boom)
    value = await token("HZD", "buyer")
    async with running_app(app) as client:
        response = await client.get("/api/v1/boom", headers=bearer(value))
    assert_problem(response, 409)


async def test_an_unexpected_error_answers_500_without_internals() -> None:
    @get("/api/v1/crash", sync_to_thread=False)
    def crash() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app = create_app(settings())
    app.register(crash)
    value = await token("HZD", "buyer")
    async with running_app(app) as client:
        response = await client.get("/api/v1/crash", headers=bearer(value))
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


async def test_a_nul_character_in_a_body_answers_422_on_every_engine() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members",
            headers={**bearer(admin), "content-type": "application/json"},
            content=b'{"code": "NUL", "name": "a\\u0000b", "kind": "municipality", "state": "DE-HE"}',
        )
    assert_problem(response, 422)


async def test_a_nul_character_in_a_query_answers_400() -> None:
    value = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/audit-events?action=a%00b", headers=bearer(value))
    assert_problem(response, 400)


async def test_an_unknown_query_parameter_answers_400() -> None:
    value = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/members?categroy=hosting", headers=bearer(value))
    body = assert_problem(response, 400)
    assert "categroy" in body["detail"]


async def test_declared_query_parameters_are_accepted() -> None:
    value = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/members?limit=5", headers=bearer(value))
    assert response.status_code == 200
