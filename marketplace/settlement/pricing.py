"""The money rules of a settlement (domain.md, Money), as pure functions on ``Decimal``.

Each line rounds half up to cents exactly once: its net amount from the unrounded product, then its tax from
the rounded net. Totals are sums of rounded lines. Nothing here reads the database or the clock.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from marketplace.money import CENT, from_cents

MILLI = Decimal("0.001")
HUNDRED = Decimal(100)

#: Tax rate in per cent by the offer version's tax treatment.
TAX_RATES: dict[str, Decimal] = {
    "exempt_public_cooperation": Decimal(0),
    "vat_19": Decimal(19),
    "vat_7": Decimal(7),
}


def round_cents(value: Decimal) -> Decimal:
    """``value`` rounded half up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(value: Decimal) -> int:
    """Integer cents of an amount that has at most two decimal places."""
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{value} has more than two decimal places")
    return int(cents)


def days_in_month(year: int, month: int) -> int:
    """The number of days of a month (29 for February of a leap year)."""
    return calendar.monthrange(year, month)[1]


def active_days(start: date, end: date | None, first: date, last: date) -> int:
    """Days of ``first``..``last`` on which an agreement from ``start`` to ``end`` runs (both ends included)."""
    begin = max(start, first)
    finish = last if end is None else min(end, last)
    return max(0, (finish - begin).days + 1)


def tax_rate(tax_treatment: str) -> Decimal:
    """The tax rate in per cent of a tax treatment (``ValueError`` for an unknown one)."""
    try:
        return TAX_RATES[tax_treatment]
    except KeyError:
        raise ValueError(f"unknown tax treatment {tax_treatment!r}") from None


@dataclass(frozen=True, slots=True)
class Amounts:
    """Net, tax and gross of one line, in cents, and the rate applied."""

    net: int
    tax_rate: Decimal
    tax: int

    @property
    def gross(self) -> int:
        """Net plus tax."""
        return self.net + self.tax


def line_amounts(unrounded_net: Decimal, tax_treatment: str) -> Amounts:
    """Round the net once, then compute and round the tax of the rounded net."""
    net = round_cents(unrounded_net)
    rate = tax_rate(tax_treatment)
    tax = round_cents(net * rate / HUNDRED)
    return Amounts(net=to_cents(net), tax_rate=rate, tax=to_cents(tax))


def recurring_net(quantity: int, unit_price: Decimal, days_active: int, days_of_month: int) -> Decimal:
    """The unrounded net of a recurring line: quantity × price × active days / days of the month."""
    if not 0 <= days_active <= days_of_month:
        raise ValueError(f"{days_active} active days in a month of {days_of_month}")
    if days_active == days_of_month:
        return Decimal(quantity) * unit_price
    return Decimal(quantity) * unit_price * Decimal(days_active) / Decimal(days_of_month)


def one_off_net(quantity: int, unit_price: Decimal) -> Decimal:
    """The net of a one-off charge (made in the month the agreement starts)."""
    return Decimal(quantity) * unit_price


def metered_net(usage_milli: int, unit_price: Decimal) -> Decimal:
    """The unrounded net of a metered line: the reported usage (thousandths of a unit) × price."""
    return Decimal(usage_milli) * MILLI * unit_price


def fee_cents(net_total_cents: int, percent: Decimal) -> int:
    """The cooperative's fee on a settlement's net total, rounded half up to cents once."""
    if not 0 <= percent <= HUNDRED:
        raise ValueError(f"fee percentage {percent} must lie between 0 and 100")
    return to_cents(round_cents(from_cents(net_total_cents) * percent / HUNDRED))


def parse_percent(text: str) -> Decimal:
    """A fee percentage from configuration (``"1.5"``), between 0 and 100."""
    try:
        value = Decimal(text.strip() or "0")
    except ArithmeticError as exc:
        raise ValueError(f"SETTLEMENT_FEE_PERCENT {text!r} is not a number") from exc
    if not value.is_finite() or not 0 <= value <= HUNDRED:
        raise ValueError(f"SETTLEMENT_FEE_PERCENT {text!r} must lie between 0 and 100")
    return value
