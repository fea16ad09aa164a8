"""``GET /health``: is the database there, is Redis there."""

from __future__ import annotations

import asyncio
from typing import Literal

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from marketplace.config import Settings
from marketplace.db import engine
from marketplace.store import Stores

CheckResult = Literal["ok", "down", "disabled"]


class HealthChecks(msgspec.Struct):
    """Each dependency's state."""

    database: CheckResult
    redis: CheckResult


class Health(msgspec.Struct):
    """ok: all is well; degraded: Redis is down and the service runs without it; down: no database."""

    status: Literal["ok", "degraded", "down"]
    checks: HealthChecks


async def _database_answers(seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await engine().run_ddl("SELECT 1")
    except Exception:
        return False
    return True


@get(
    "/health",
    operation_id="health",
    tags=["operations"],
    security=[{}],
    exclude_from_auth=True,
    opt={"exclude_from_rate_limit": True},
)
async def health(state: State) -> Response[Health]:
    """Database and Redis checks; 503 when the database does not answer."""
    stores: Stores = state.stores
    settings: Settings = state.settings
    database: CheckResult = "ok" if await _database_answers(settings.health_timeout_seconds) else "down"
    redis: CheckResult = "disabled"
    if stores.configured:
        redis = "ok" if await stores.ping() else "down"
    status: Literal["ok", "degraded", "down"] = "ok"
    if database == "down":
        status = "down"
    elif redis == "down":
        status = "degraded"
    return Response(
        Health(status=status, checks=HealthChecks(database=database, redis=redis)),
        status_code=503 if status == "down" else 200,
    )
