"""Who manages which user: a table of caller × target user × operation, and the rules behind it.

The rule (``members.stewardship``): the cooperative's admin manages every user; a member's admin the users of
its own member that hold none of the cooperative's roles (403 for those it sees but may not manage); a user of
another member answers 404; for its own tokens every user is its own manager.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from marketplace.audit.tables import AuditEvent
from marketplace.auth import Actor, Role
from marketplace.members import services
from marketplace.members.tables import ApiToken, PasswordLink, User
from tests.builders import bearer, member, running_app, token

SYSTEM = Actor(label="tests")

#: The callers of the table: (member, roles).
CALLERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "coop_admin": ("KOPIT", ("coop_admin",)),
    "kopit_member_admin": ("KOPIT", ("member_admin",)),
    "hzd_member_admin": ("HZD", ("member_admin",)),
    "kopit_buyer": ("KOPIT", ("buyer",)),
}
#: The target users of the table: (member, roles).
TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "kopit_coop_admin": ("KOPIT", ("coop_admin",)),
    "kopit_coop_accountant": ("KOPIT", ("coop_accountant",)),
    "kopit_auditor": ("KOPIT", ("auditor",)),
    "kopit_auditor_and_buyer": ("KOPIT", ("auditor", "buyer")),
    "kopit_buyer": ("KOPIT", ("buyer",)),
    "hzd_buyer": ("HZD", ("buyer",)),
}
#: What each caller may do to each target: "manage", or the refusal's status.
RULE: dict[tuple[str, str], int | str] = {
    **{("coop_admin", target): "manage" for target in TARGETS},
    ("kopit_member_admin", "kopit_coop_admin"): 403,
    ("kopit_member_admin", "kopit_coop_accountant"): 403,
    ("kopit_member_admin", "kopit_auditor"): 403,
    ("kopit_member_admin", "kopit_auditor_and_buyer"): 403,
    ("kopit_member_admin", "kopit_buyer"): "manage",
    ("kopit_member_admin", "hzd_buyer"): 404,
    **{("hzd_member_admin", target): 404 for target in TARGETS if target != "hzd_buyer"},
    ("hzd_member_admin", "hzd_buyer"): "manage",
    # Without an admin role: the token endpoints answer as for a stranger, the admin-only ones 403 (guard).
    **{("kopit_buyer", target): 404 for target in TARGETS},
}


class Target:
    """The target user of one case, with a live token of its own."""

    def __init__(self, user_id: str, secret: str, token_id: str) -> None:
        self.user_id = user_id
        self.secret = secret
        self.token_id = token_id


async def _target(name: str) -> Target:
    code, roles = TARGETS[name]
    if not await services.Member.exists().where(services.Member.code == code):
        await member(code)
    issued = await services.issue_token(
        code, frozenset(Role(r) for r in roles), SYSTEM, name="target", email=f"{name}@example.org"
    )
    return Target(str(issued.user_id), issued.token, str(issued.id))


Operation = Callable[[httpx.AsyncClient, dict[str, str], Target], Awaitable[httpx.Response]]

OPERATIONS: dict[str, tuple[Operation, int, bool]] = {
    # name: (call, status when allowed, guarded by the admin roles)
    "create_token": (
        lambda c, h, t: c.post(f"/api/v1/users/{t.user_id}/tokens", headers=h, json={"name": "x"}),
        201,
        False,
    ),
    "list_tokens": (lambda c, h, t: c.get(f"/api/v1/users/{t.user_id}/tokens", headers=h), 200, False),
    "revoke_token": (lambda c, h, t: c.delete(f"/api/v1/tokens/{t.token_id}", headers=h), 204, False),
    "password_link": (lambda c, h, t: c.post(f"/api/v1/users/{t.user_id}/password-link", headers=h), 201, True),
    "rename": (lambda c, h, t: c.patch(f"/api/v1/users/{t.user_id}", headers=h, json={"name": "Neu"}), 200, True),
    "deactivate": (
        lambda c, h, t: c.patch(f"/api/v1/users/{t.user_id}", headers=h, json={"active": False}),
        200,
        True,
    ),
}


def _cases() -> list[Any]:
    return [pytest.param(caller, target, id=f"{caller}-{target}") for caller in CALLERS for target in TARGETS]


async def _state(target: Target) -> tuple[int, int, Any, Any]:
    tokens = await ApiToken.count().where(ApiToken.owner == target.user_id)
    links = await PasswordLink.count().where(PasswordLink.owner == target.user_id)
    user = await User.select(User.name, User.active).where(User.id == target.user_id).first()
    revoked = await ApiToken.select(ApiToken.revoked_at).where(ApiToken.id == target.token_id).first()
    return tokens, links, user, revoked


@pytest.mark.parametrize(("caller", "target_name"), _cases())
async def test_user_management_follows_the_rule(caller: str, target_name: str) -> None:
    """One row of the table: every operation of ``caller`` on the target answers as the rule says."""
    code, roles = CALLERS[caller]
    caller_token = await token(code, *roles, email=f"caller-{caller}@example.org")
    target = await _target(target_name)
    rule = RULE[(caller, target_name)]
    expected: dict[str, int] = {}
    answered: dict[str, int] = {}
    unchanged: dict[str, bool] = {}
    async with running_app() as client:
        # In this order, so that an allowed operation never hides the next one (deactivation last).
        for name, (call, allowed_status, guarded) in OPERATIONS.items():
            expected[name] = (
                403 if guarded and caller == "kopit_buyer" else allowed_status if rule == "manage" else int(rule)
            )
            before = await _state(target)
            response = await call(client, bearer(caller_token), target)
            answered[name] = response.status_code
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")
                unchanged[name] = await _state(target) == before
    assert answered == expected
    assert all(unchanged.values()), unchanged


async def test_a_member_admin_of_the_cooperative_cannot_arm_a_coop_admin_with_a_token() -> None:
    await member("KOPIT")
    kopit_admin = await token("KOPIT", "member_admin")
    target = await _target("kopit_coop_admin")
    async with running_app() as client:
        created = await client.post(
            f"/api/v1/users/{target.user_id}/tokens", headers=bearer(kopit_admin), json={"name": "x"}
        )
        admit = await client.post(
            "/api/v1/members",
            headers=bearer(kopit_admin),
            json={"code": "NEU", "name": "Neu", "kind": "municipality", "state": "DE-HE"},
        )
    assert created.status_code == 403
    assert created.json()["type"].endswith("forbidden")
    assert "token" not in created.json()
    assert admit.status_code == 403
    assert await ApiToken.count().where(ApiToken.owner == target.user_id) == 1


async def test_a_member_admin_cannot_grant_a_cooperative_role_by_changing_roles() -> None:
    kopit_admin = await token("KOPIT", "member_admin")
    target = await _target("kopit_buyer")
    async with running_app() as client:
        response = await client.patch(
            f"/api/v1/users/{target.user_id}", headers=bearer(kopit_admin), json={"roles": ["coop_admin"]}
        )
    assert response.status_code == 403
    row = await User.select(User.roles).where(User.id == target.user_id).first()
    assert row == {"roles": "buyer"}


async def test_the_coop_admin_grants_a_cooperative_role_to_a_user_of_the_office() -> None:
    admin = await token("KOPIT", "coop_admin")
    target = await _target("kopit_buyer")
    async with running_app() as client:
        response = await client.patch(
            f"/api/v1/users/{target.user_id}", headers=bearer(admin), json={"roles": ["auditor", "buyer"]}
        )
        me = await client.get("/api/v1/me", headers=bearer(target.secret))
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["auditor", "buyer"]
    assert me.json()["roles"] == ["auditor", "buyer"]


async def test_cooperative_roles_are_refused_for_users_of_other_members_on_change() -> None:
    admin = await token("KOPIT", "coop_admin")
    target = await _target("hzd_buyer")
    async with running_app() as client:
        response = await client.patch(
            f"/api/v1/users/{target.user_id}", headers=bearer(admin), json={"roles": ["coop_accountant"]}
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "roles"


async def test_a_deactivated_users_tokens_stop_working_at_once() -> None:
    admin = await token("HZD", "member_admin")
    target = await _target("hzd_buyer")
    async with running_app() as client:
        assert (await client.get("/api/v1/me", headers=bearer(target.secret))).status_code == 200
        response = await client.patch(f"/api/v1/users/{target.user_id}", headers=bearer(admin), json={"active": False})
        after = await client.get("/api/v1/me", headers=bearer(target.secret))
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert after.status_code == 401
    event = await AuditEvent.select(AuditEvent.action).where(AuditEvent.subject_id == target.user_id).first()
    assert event is not None


async def test_a_reactivated_users_tokens_work_again() -> None:
    admin = await token("HZD", "member_admin")
    target = await _target("hzd_buyer")
    async with running_app() as client:
        await client.patch(f"/api/v1/users/{target.user_id}", headers=bearer(admin), json={"active": False})
        await client.patch(f"/api/v1/users/{target.user_id}", headers=bearer(admin), json={"active": True})
        after = await client.get("/api/v1/me", headers=bearer(target.secret))
    assert after.status_code == 200


async def test_an_admin_cannot_deactivate_itself() -> None:
    admin = await token("HZD", "member_admin")
    async with running_app() as client:
        me = (await client.get("/api/v1/me", headers=bearer(admin))).json()["user"]["id"]
        response = await client.patch(f"/api/v1/users/{me}", headers=bearer(admin), json={"active": False})
        still = await client.get("/api/v1/me", headers=bearer(admin))
    assert response.status_code == 409
    assert response.json()["type"].endswith("conflict")
    assert still.status_code == 200


async def test_unknown_fields_in_a_user_change_are_refused() -> None:
    admin = await token("HZD", "member_admin")
    target = await _target("hzd_buyer")
    async with running_app() as client:
        response = await client.patch(
            f"/api/v1/users/{target.user_id}", headers=bearer(admin), json={"member": "KOPIT"}
        )
    assert response.status_code in (400, 422)
    row = await User.select(User.member.code).where(User.id == target.user_id).first()
    assert row == {"member.code": "HZD"}
