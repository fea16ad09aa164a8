"""Schemathesis over the whole OpenAPI document, in process, with and without a token.

Every operation the app documents joins automatically; no answer may be a 5xx, and every answer must match
the documented status codes and schemas (all checks but allow_header_conformance, litestar#4169).
"""

from __future__ import annotations

import asyncio
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.serialization import encode_json
from schemathesis.checks import CHECKS

from marketplace.app import create_app
from tests import builders

# Schemathesis drives the app from its own event loop: no connection pool and no Redis client may be bound to it.
app = create_app(builders.settings(redis_url=None, rate_limit_per_minute=1_000_000, database_pool_size=0))
# The document is taken from the app, not fetched over ASGI: fetching it would start the app's lifespan in
# Schemathesis' event-loop thread at import, and its background jobs would run there, on the shared database
# engine, beside every test collected before the first of these (a pool used from two threads: hangs, crashes).
# Each test below starts the lifespan on its first call and Schemathesis stops it when the test ends.
loaded = schemathesis.openapi.from_dict(json.loads(encode_json(app.openapi_schema.to_schema())))
loaded.app = app
# The event stream never ends by design; tests/test_events.py covers it with a live server.
schema = loaded.exclude(path="/api/v1/events")

EXCLUDED_CHECKS = {"allow_header_conformance"}


def _checks() -> list:
    return [check for check in CHECKS.get_all() if check.__name__ not in EXCLUDED_CHECKS]


async def _coop_admin_token() -> str:
    for code in ("KOPIT", "HZD", "EKOM21"):
        await builders.member(code)
    return await builders.token("KOPIT", "coop_admin", "auditor")


@pytest.fixture
def admin_token() -> str:
    return asyncio.run(_coop_admin_token())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_5xx_or_breaks_its_contract_with_a_token(
    case: schemathesis.Case, admin_token: str
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=_checks())


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_5xx_or_breaks_its_contract_without_a_token(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=_checks())
