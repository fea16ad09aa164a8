"""One month (February 2025) with every pricing model and tax treatment, hand-computed.

KDZ-MZ → HZD: recurring 3 × 40.00 from 10 Feb (19/28 days) = 81.43 exempt; one-off 2 × 150.00 = 300.00 + 19 %
57.00; metered 12.5 × 8.99 = 112.375 → 112.38 + 7 % 7.87. Net 493.81, tax 64.87, gross 558.68.
EKOM21 → HZD: recurring 1 × 100.00 until 14 Feb (14/28) = 50.00 + 19 % 9.50 = 59.50.
EKOM21 → GU-FFM: metered without a usage report: listed as missing, not charged.
KDZ-MZ → GU-FFM: starts in March: not part of February.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.settlement.helpers import Exchange, agreement, offer, usage

PERIOD = "2025-02"
KDZ_HZD = {"net": "493.81", "tax": "64.87", "gross": "558.68"}
EKOM_HZD = {"net": "50.00", "tax": "9.50", "gross": "59.50"}
TOTAL = {"net": "543.81", "tax": "74.37", "gross": "618.18", "fee": "0.00", "currency": "EUR"}


async def february(client: httpx.AsyncClient, exchange: Exchange) -> dict[str, Any]:
    """Record the month's agreements and usage; their JSON by name."""
    recurring = await offer(client, exchange, unit_price="40.00", title="Virtuelle Server")
    one_off = await offer(
        client, exchange, unit_price="150.00", pricing="one_off", tax_treatment="vat_19", title="Einrichtung"
    )
    metered = await offer(
        client, exchange, unit_price="8.99", pricing="metered", tax_treatment="vat_7", unit="TB", title="Speicher"
    )
    ekom_recurring = await offer(
        client, exchange, "EKOM21", unit_price="100.00", tax_treatment="vat_19", title="Fachverfahren"
    )
    ekom_metered = await offer(client, exchange, "EKOM21", unit_price="1.00", pricing="metered", title="Druck")
    made = {
        "recurring": await agreement(client, exchange, recurring, quantity=3, start="2025-02-10"),
        "one_off": await agreement(client, exchange, one_off, quantity=2, start="2025-02-03"),
        "metered": await agreement(client, exchange, metered, start="2025-01-01"),
        "ekom": await agreement(
            client, exchange, ekom_recurring, provider="EKOM21", start="2025-01-01", end="2025-02-14"
        ),
        "missing": await agreement(
            client, exchange, ekom_metered, provider="EKOM21", consumer="GU-FFM", start="2025-01-01"
        ),
        "march": await agreement(client, exchange, recurring, consumer="GU-FFM", start="2025-03-01"),
    }
    reported = await usage(client, exchange, made["metered"]["id"], PERIOD, "12.5")
    assert reported.status_code == 201, reported.text
    return made
