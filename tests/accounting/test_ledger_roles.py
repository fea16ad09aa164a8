"""Role × ledger endpoint: the cooperative's roles and a member's accountant read; closing and verifying are
the cooperative's; buyers, providers and member admins get 403 everywhere.
"""

from __future__ import annotations

import pytest

from marketplace.auth import COOP_ROLES, Role
from tests.accounting.builders import journal
from tests.builders import bearer, running_app, token

READERS = frozenset({Role.coop_admin, Role.coop_accountant, Role.auditor, Role.accountant})

# (method, path, roles that may call it); closing a month that ended (October 2026) succeeds for its role.
ENDPOINTS = [
    ("GET", "/api/v1/ledger/balances", READERS),
    ("GET", "/api/v1/ledger/statement", READERS),
    ("GET", "/api/v1/ledger/export", READERS),
    ("GET", "/api/v1/ledger/periods", READERS),
    ("POST", "/api/v1/ledger/periods/2026-10/close", {Role.coop_accountant}),
    ("GET", "/api/v1/ledger/verify", COOP_ROLES),
]


def _cases() -> list[object]:
    return [
        pytest.param(method, path, role, role in allowed, id=f"{method} {path} as {role}")
        for method, path, allowed in ENDPOINTS
        for role in Role
    ]


@pytest.mark.parametrize(("method", "path", "role", "allowed"), _cases())
async def test_ledger_endpoint_admits_exactly_its_roles(method: str, path: str, role: Role, allowed: bool) -> None:
    await journal()
    caller = await token("KOPIT" if role in COOP_ROLES else "HZD", role)
    async with running_app() as client:
        response = await client.request(method, path, headers=bearer(caller))
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("role", [Role.buyer, Role.provider, Role.member_admin])
async def test_other_member_roles_get_403_even_for_their_own_member(role: Role) -> None:
    await journal()
    caller = await token("HZD", role)
    async with running_app() as client:
        response = await client.get("/api/v1/ledger/balances?member=HZD", headers=bearer(caller))
    assert response.status_code == 403


async def test_ledger_endpoints_need_a_token() -> None:
    async with running_app() as client:
        response = await client.get("/api/v1/ledger/balances")
    assert response.status_code == 401
