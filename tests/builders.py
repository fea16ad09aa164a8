"""Builders for test data: one function per object, with sensible defaults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from marketplace.app import create_app
from marketplace.auth import Actor, Role
from marketplace.config import Settings
from marketplace.members import services
from marketplace.members.schemas import MemberCreate
from tests.conftest import TEST_REDIS_URL

SYSTEM = Actor(label="tests")

DEFAULT_MEMBERS: dict[str, dict[str, Any]] = {
    "KOPIT": {"name": "KOPIT eG", "kind": "cooperative", "state": "DE-HE"},
    "HZD": {"name": "Hessische Zentrale für Datenverarbeitung", "kind": "state_agency", "state": "DE-HE"},
    "EKOM21": {"name": "ekom21 – KGRZ Hessen", "kind": "municipal_it_provider", "state": "DE-HE"},
    "KDZ-MZ": {"name": "Kommunale Datenzentrale Mainz", "kind": "municipal_it_provider", "state": "DE-RP"},
    "GU-FFM": {"name": "Goethe-Universität Frankfurt am Main", "kind": "university", "state": "DE-HE"},
}


def settings(**overrides: Any) -> Settings:
    """Settings for an app under test: this run's Redis (if any), a fixed secret, quiet logs."""
    values: dict[str, Any] = {
        "redis_url": TEST_REDIS_URL or None,
        "secret": "test-secret",
        "log_level": "WARNING",
        "rate_limit_per_minute": 10_000,
        # A loaded test machine (parallel workers, a browser) may take seconds to open a connection: a health
        # check giving up after 2 s would call the database down, a Redis call after 0.2 s open the breaker.
        # Tests of those timeouts set them themselves.
        "health_timeout_seconds": 15.0,
        "redis_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_app(app: Litestar | None = None, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An app with its lifespan running, and an HTTP client talking to it in this event loop."""
    app = app or create_app(settings(**overrides))
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def member(code: str = "HZD", **fields: Any) -> str:
    """Admit a member (the defaults know the demonstration members); its code."""
    values = {**DEFAULT_MEMBERS.get(code, {"name": f"Member {code}", "kind": "municipality", "state": "DE-HE"})}
    values.update(fields)
    await services.admit_member(MemberCreate(code=code, **values), SYSTEM)
    return code


async def token(member_code: str = "HZD", *roles: Role | str, email: str | None = None) -> str:
    """A bearer token of a user of ``member_code`` holding ``roles`` (admits the member if needed)."""
    if not await services.Member.exists().where(services.Member.code == member_code):
        await member(member_code)
    wanted = frozenset(Role(role) for role in roles) or frozenset({Role.buyer})
    created = await services.issue_token(member_code, wanted, SYSTEM, email=email)
    return created.token


def bearer(value: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {value}"}


async def user_id_of(token_value: str, client: httpx.AsyncClient) -> str:
    """The id of the user a token belongs to."""
    response = await client.get("/api/v1/me", headers=bearer(token_value))
    assert response.status_code == 200, response.text
    return str(response.json()["user"]["id"])
