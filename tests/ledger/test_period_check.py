"""Each exported period is checked on its own, with the balances carried into it: memory stays flat."""

from __future__ import annotations

import datetime as dt

from beancount import loader

from ledger.check import OPENING_EQUITY, opening_text
from ledger.models import Account

OCT_1 = dt.date(2026, 10, 1)
NOV_30 = dt.date(2026, 11, 30)


def _account(name: str, closed_on: dt.date | None = None) -> Account:
    return Account(name=name, currency="EUR", opened_on=OCT_1, closed_on=closed_on)


def test_carried_balances_of_open_accounts_balance_on_their_own() -> None:
    accounts = [_account("Assets:Receivable:HZD"), _account("Liabilities:Payable:KDZ-MZ")]
    text = opening_text(
        NOV_30,
        "2026-12",
        {("Assets:Receivable:HZD", "EUR"): 119_000, ("Liabilities:Payable:KDZ-MZ", "EUR"): -119_000},
        accounts,
    )
    assert "Assets:Receivable:HZD  1190.00 EUR" in text
    assert OPENING_EQUITY not in text


def test_a_balance_on_an_account_closed_before_the_period_is_carried_by_equity() -> None:
    accounts = [_account("Assets:Receivable:HZD"), _account("Liabilities:Payable:OLD", closed_on=dt.date(2026, 11, 15))]
    text = opening_text(
        NOV_30,
        "2026-12",
        {("Assets:Receivable:HZD", "EUR"): 5_000, ("Liabilities:Payable:OLD", "EUR"): -5_000},
        accounts,
    )
    header = "".join(f"{OCT_1} open {a.name} EUR\n" for a in accounts) + f"1900-01-01 open {OPENING_EQUITY}\n"
    _, errors, _ = loader.load_string(header + text)
    assert errors == []
    assert "Liabilities:Payable:OLD" not in text
    assert f"{OPENING_EQUITY}  -50.00 EUR" in text


def test_nothing_is_carried_into_the_first_period() -> None:
    assert opening_text(dt.date(2026, 9, 30), "2026-10", {}, [_account("Assets:Receivable:HZD")]) == ""
