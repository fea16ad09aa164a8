"""The payment state of a settlement: what its consumer paid and what its provider was paid out, each amount with
its source (a bank line or a netting), for the accountants of both parties and the cooperative; others 404."""

from __future__ import annotations

import pytest

from tests.builders import bearer, running_app, token
from tests.reconciliation.helpers import (
    EKOM_SETTLEMENT,
    KDZ_SETTLEMENT,
    Entry,
    Statement,
    camt053,
    cycle,
    imported,
    net,
    settled,
)


def _path(number: str) -> str:
    return f"/api/v1/settlements/{number}/payments"


async def test_a_payment_by_reference_shows_the_consumer_side_paid_with_its_bank_line() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        await imported(
            client, exchange, camt053(Statement(entries=[Entry("558.68", "R-1", f"Rechnung {KDZ_SETTLEMENT}")]))
        )
        answer = await client.get(_path(KDZ_SETTLEMENT), headers=bearer(exchange.accountant))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["due"], body["paid"], body["payment_status"]) == ("558.68", "558.68", "paid")
    assert (body["payout_due"], body["paid_out"], body["payout_status"]) == ("558.68", "0.00", "open")
    [payment] = body["payments"]
    assert (payment["side"], payment["amount"], payment["source"], payment["reference"]) == (
        "consumer",
        "558.68",
        "bank_line",
        "R-1",
    )


async def test_an_unpaid_settlement_is_open_on_both_sides_with_no_payments() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        body = (await client.get(_path(EKOM_SETTLEMENT), headers=bearer(exchange.accountant))).json()
    assert (body["paid"], body["payment_status"], body["paid_out"], body["payout_status"]) == (
        "0.00",
        "open",
        "0.00",
        "open",
    )
    assert body["payments"] == []


async def test_netting_shows_its_share_on_each_side_of_a_settlement() -> None:
    async with running_app() as client:
        exchange, numbers = await cycle(client)
        run = (await net(client, exchange.accountant)).json()
        body = (await client.get(_path(numbers["KDZ-MZ"]), headers=bearer(exchange.accountant))).json()
    # KDZ-MZ → HZD, 100.00: HZD netted 60.00 of it, KDZ-MZ's own debt of 30.00 was set off against it.
    assert (body["paid"], body["payment_status"]) == ("60.00", "partially_paid")
    assert (body["paid_out"], body["payout_status"]) == ("30.00", "partially_paid")
    assert {(p["side"], p["amount"], p["source"], p["reference"]) for p in body["payments"]} == {
        ("consumer", "60.00", "netting", run["id"]),
        ("provider", "30.00", "netting", run["id"]),
    }


@pytest.mark.parametrize(("code", "status"), [("HZD", 200), ("KDZ-MZ", 200), ("EKOM21", 404)])
async def test_the_accountants_of_both_parties_see_it_and_another_members_get_404(code: str, status: int) -> None:
    async with running_app() as client:
        await settled(client)
        accountant = await token(code, "accountant")
        answer = await client.get(_path(KDZ_SETTLEMENT), headers=bearer(accountant))
    assert answer.status_code == status, answer.text


async def test_a_buyer_may_not_read_it_and_an_unknown_number_is_404() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        buyer = await token("HZD", "buyer")
        refused = await client.get(_path(KDZ_SETTLEMENT), headers=bearer(buyer))
        unknown = await client.get(_path("S-2025-999999"), headers=bearer(exchange.accountant))
    assert refused.status_code == 403
    assert unknown.status_code == 404


async def test_a_malformed_settlement_number_is_a_clear_422() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        answer = await client.get(_path("S-25-1"), headers=bearer(exchange.accountant))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
