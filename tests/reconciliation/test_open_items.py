"""Open items: receivables not yet paid and payables not yet paid out, aged in buckets 0–30, 31–60, 61–90 and
over 90 days since the settlement's date (the last day of its period)."""

from __future__ import annotations

import pytest

from marketplace.reconciliation.services import bucket
from tests.builders import bearer, running_app
from tests.reconciliation.helpers import EKOM_SETTLEMENT, KDZ_SETTLEMENT, settled


@pytest.mark.parametrize(
    ("age", "label"),
    [(0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "over_90")],
)
def test_bucket_bounds(age: int, label: str) -> None:
    assert bucket(age) == label


@pytest.mark.parametrize(
    ("as_of", "age", "label"),
    [
        ("2025-03-30", 30, "0-30"),
        ("2025-04-29", 60, "31-60"),
        ("2025-05-29", 90, "61-90"),
        ("2025-05-30", 91, "over_90"),
    ],
)
async def test_items_are_aged_from_the_end_of_their_period(as_of: str, age: int, label: str) -> None:
    async with running_app() as client:
        exchange = await settled(client)
        response = await client.get(f"/api/v1/open-items?as_of={as_of}", headers=bearer(exchange.accountant))
    assert response.status_code == 200, response.text
    body = response.json()
    assert {(i["settlement"], i["kind"], i["member"]) for i in body["items"]} == {
        (EKOM_SETTLEMENT, "receivable", "HZD"),
        (EKOM_SETTLEMENT, "payable", "EKOM21"),
        (KDZ_SETTLEMENT, "receivable", "HZD"),
        (KDZ_SETTLEMENT, "payable", "KDZ-MZ"),
    }
    assert {(i["age_days"], i["bucket"], i["due_date"]) for i in body["items"]} == {(age, label, "2025-02-28")}
    assert body["receivables"][label] == body["receivables"]["total"] == "618.18"
    assert body["payables"]["total"] == "618.18"


async def test_settlements_of_a_later_date_are_not_yet_open() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        response = await client.get("/api/v1/open-items?as_of=2025-02-27", headers=bearer(exchange.accountant))
    assert response.json()["items"] == []
    assert response.json()["receivables"]["total"] == "0.00"
