"""Admission, profile and membership status (api.md, domain.md)."""

from __future__ import annotations

from tests.builders import bearer, member, running_app, token

NEW_MEMBER = {"code": "LHW", "name": "Landeshauptstadt Wiesbaden", "kind": "municipality", "state": "DE-HE"}


async def test_coop_admin_admits_a_member() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post("/api/v1/members", headers=bearer(admin), json=NEW_MEMBER)
        assert response.status_code == 201, response.text
        assert response.headers["etag"] == '"1"'
        listed = await client.get("/api/v1/members", headers=bearer(admin))
    assert response.json()["status"] == "active"
    assert "LHW" in [item["code"] for item in listed.json()["items"]]


async def test_a_member_code_must_be_upper_case_letters_digits_and_hyphens() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post("/api/v1/members", headers=bearer(admin), json={**NEW_MEMBER, "code": "kdz mz"})
    assert response.status_code == 422


async def test_a_valid_leitweg_id_is_accepted() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members",
            headers=bearer(admin),
            json={**NEW_MEMBER, "leitweg_id": "04011000-1234512345-06"},
        )
    assert response.status_code == 201, response.text
    assert response.json()["leitweg_id"] == "04011000-1234512345-06"


async def test_a_leitweg_id_with_wrong_check_digits_is_refused_with_the_right_ones() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members",
            headers=bearer(admin),
            json={**NEW_MEMBER, "leitweg_id": "04011000-1234512345-07"},
        )
    assert response.status_code == 422
    assert "should be 06" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "leitweg_id"


async def test_a_second_cooperative_office_is_refused() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/members", headers=bearer(admin), json={**NEW_MEMBER, "kind": "cooperative"}
        )
    assert response.status_code == 409


async def test_a_suspended_members_tokens_stop_working_at_once() -> None:
    admin = await token("KOPIT", "coop_admin")
    buyer = await token("HZD", "buyer")
    async with running_app() as client:
        assert (await client.get("/api/v1/me", headers=bearer(buyer))).status_code == 200
        suspended = await client.post("/api/v1/members/HZD/suspend", headers=bearer(admin), json={"reason": "Test"})
        refused = await client.get("/api/v1/me", headers=bearer(buyer))
    assert suspended.json()["status"] == "suspended"
    assert refused.status_code == 403
    assert "suspended" in refused.json()["detail"]


async def test_a_reinstated_members_tokens_work_again() -> None:
    admin = await token("KOPIT", "coop_admin")
    buyer = await token("HZD", "buyer")
    async with running_app() as client:
        await client.post("/api/v1/members/HZD/suspend", headers=bearer(admin))
        reinstated = await client.post("/api/v1/members/HZD/reinstate", headers=bearer(admin))
        again = await client.get("/api/v1/me", headers=bearer(buyer))
    assert reinstated.json()["status"] == "active"
    assert again.status_code == 200


async def test_a_departed_members_tokens_stop_working() -> None:
    admin = await token("KOPIT", "coop_admin")
    buyer = await token("HZD", "buyer")
    async with running_app() as client:
        left = await client.post("/api/v1/members/HZD/leave", headers=bearer(admin))
        refused = await client.get("/api/v1/me", headers=bearer(buyer))
    assert left.json()["status"] == "departed"
    assert left.json()["left_at"] is not None
    assert refused.status_code == 403


async def test_an_impossible_transition_answers_409_with_the_current_state() -> None:
    admin = await token("KOPIT", "coop_admin")
    await member("HZD")
    async with running_app() as client:
        response = await client.post("/api/v1/members/HZD/reinstate", headers=bearer(admin))
    assert response.status_code == 409
    assert response.json()["state"] == "active"


async def test_the_cooperative_office_cannot_be_suspended() -> None:
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.post("/api/v1/members/KOPIT/suspend", headers=bearer(admin))
    assert response.status_code == 409


async def test_member_admin_changes_its_own_bank_details_the_iban_pending_confirmation() -> None:
    own_admin = await token("HZD", "member_admin")
    async with running_app() as client:
        response = await client.patch(
            "/api/v1/members/HZD",
            headers=bearer(own_admin),
            json={"iban": "DE02 1203 0000 0000 2020 51", "bic": "BYLADEM1001", "account_holder": "HZD"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["iban"], body["pending_iban"]) == (None, "DE02120300000000202051")
    assert (body["bic"], body["account_holder"], body["version"]) == ("BYLADEM1001", "HZD", 2)


async def test_an_iban_with_wrong_check_digits_is_refused() -> None:
    own_admin = await token("HZD", "member_admin")
    async with running_app() as client:
        response = await client.patch(
            "/api/v1/members/HZD", headers=bearer(own_admin), json={"iban": "DE03120300000000202051"}
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "iban"


async def test_member_admin_cannot_rename_its_member() -> None:
    own_admin = await token("HZD", "member_admin")
    async with running_app() as client:
        response = await client.patch("/api/v1/members/HZD", headers=bearer(own_admin), json={"name": "Neu"})
    assert response.status_code == 403


async def test_member_admin_cannot_change_another_members_profile() -> None:
    other_admin = await token("EKOM21", "member_admin")
    await member("HZD")
    async with running_app() as client:
        response = await client.patch(
            "/api/v1/members/HZD", headers=bearer(other_admin), json={"contact_email": "x@example.org"}
        )
    assert response.status_code == 403


async def test_a_stale_if_match_answers_412_and_changes_nothing() -> None:
    admin = await token("KOPIT", "coop_admin")
    await member("HZD")
    async with running_app() as client:
        first = await client.patch(
            "/api/v1/members/HZD",
            headers={**bearer(admin), "If-Match": '"1"'},
            json={"name": "Erste Änderung"},
        )
        stale = await client.patch(
            "/api/v1/members/HZD",
            headers={**bearer(admin), "If-Match": '"1"'},
            json={"name": "Zweite Änderung"},
        )
        current = await client.get("/api/v1/members/HZD", headers=bearer(admin))
    assert first.status_code == 200
    assert stale.status_code == 412
    assert current.json()["name"] == "Erste Änderung"
    assert current.headers["etag"] == '"2"'


async def test_bank_details_are_hidden_from_other_members() -> None:
    own_admin = await token("HZD", "member_admin")
    other = await token("EKOM21", "buyer")
    async with running_app() as client:
        await client.patch("/api/v1/members/HZD", headers=bearer(own_admin), json={"iban": "DE02120300000000202051"})
        seen_by_other = await client.get("/api/v1/members/HZD", headers=bearer(other))
        seen_by_self = await client.get("/api/v1/members/HZD", headers=bearer(own_admin))
    assert (seen_by_other.json()["iban"], seen_by_other.json()["pending_iban"]) == (None, None)
    assert seen_by_other.json()["pending_iban_by"] is None
    assert seen_by_self.json()["pending_iban"] == "DE02120300000000202051"


async def test_the_directory_pages_with_a_cursor() -> None:
    viewer = await token("HZD", "buyer")
    for code in ("AAA", "BBB", "CCC", "DDD"):
        await member(code)
    async with running_app() as client:
        first = await client.get("/api/v1/members?limit=2", headers=bearer(viewer))
        second = await client.get(
            f"/api/v1/members?limit=2&cursor={first.json()['next_cursor']}", headers=bearer(viewer)
        )
    assert [m["code"] for m in first.json()["items"]] == ["AAA", "BBB"]
    assert [m["code"] for m in second.json()["items"]] == ["CCC", "DDD"]


async def test_a_forged_cursor_answers_400() -> None:
    viewer = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/members?cursor=%%%not-base64", headers=bearer(viewer))
    assert response.status_code == 400


async def test_an_unknown_member_answers_404() -> None:
    viewer = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/members/NOPE", headers=bearer(viewer))
    assert response.status_code == 404
