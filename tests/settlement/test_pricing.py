"""The money rules against hand-computed cases: pro rata by days, February, a leap year, half-up rounding once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from marketplace.settlement import pricing


def _recurring(quantity: int, price: str, start: date, end: date | None, year: int, month: int) -> Decimal:
    first = date(year, month, 1)
    last = date(year, month, pricing.days_in_month(year, month))
    days = pricing.active_days(start, end, first, last)
    net = pricing.recurring_net(quantity, Decimal(price), days, pricing.days_in_month(year, month))
    return pricing.from_cents(pricing.line_amounts(net, "exempt_public_cooperation").net)


def test_the_example_of_domain_md_rounds_once_per_line() -> None:
    # 3 × 40.00 × 19/28 = 81.4285… → 81.43 (not 3 × 27.14 = 81.42)
    assert _recurring(3, "40.00", date(2027, 2, 10), None, 2027, 2) == Decimal("81.43")


def test_a_full_month_is_quantity_times_price() -> None:
    assert _recurring(3, "40.00", date(2026, 1, 1), None, 2027, 3) == Decimal("120.00")


def test_february_of_a_leap_year_has_29_days() -> None:
    # 3 × 40.00 × 20/29 = 82.7586… → 82.76
    assert _recurring(3, "40.00", date(2028, 2, 10), None, 2028, 2) == Decimal("82.76")
    assert pricing.days_in_month(2028, 2) == 29
    assert pricing.days_in_month(2027, 2) == 28


def test_start_and_end_in_the_same_month_count_both_days() -> None:
    # 10 to 20 March: 11 of 31 days; 1 × 100.00 × 11/31 = 35.4838… → 35.48
    assert _recurring(1, "100.00", date(2027, 3, 10), date(2027, 3, 20), 2027, 3) == Decimal("35.48")


def test_an_agreement_ending_mid_month_is_charged_until_its_last_day() -> None:
    # 1 to 15 April: 15 of 30 days; 2 × 45.50 × 15/30 = 45.50
    assert _recurring(2, "45.50", date(2026, 1, 1), date(2027, 4, 15), 2027, 4) == Decimal("45.50")


def test_a_single_day_is_one_day_of_the_month() -> None:
    # 31 January only: 1 × 31.00 × 1/31 = 1.00
    assert _recurring(1, "31.00", date(2027, 1, 31), date(2027, 1, 31), 2027, 1) == Decimal("1.00")


def test_an_agreement_outside_the_month_has_no_active_day() -> None:
    assert pricing.active_days(date(2027, 5, 1), None, date(2027, 4, 1), date(2027, 4, 30)) == 0
    assert pricing.active_days(date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 1), date(2027, 4, 30)) == 0


def test_rounding_is_half_up_not_half_even() -> None:
    # 0.125 units × 1.00 = 0.125 → 0.13 (banker's rounding would give 0.12)
    amounts = pricing.line_amounts(pricing.metered_net(125, Decimal("1.00")), "exempt_public_cooperation")
    assert amounts.net == 13
    # tax of 0.50 at 7 % = 0.035 → 0.04
    assert pricing.line_amounts(Decimal("0.50"), "vat_7").tax == 4


@pytest.mark.parametrize(
    ("treatment", "tax", "gross"),
    [("exempt_public_cooperation", "0.00", "81.43"), ("vat_19", "15.47", "96.90"), ("vat_7", "5.70", "87.13")],
)
def test_tax_is_computed_per_line_from_the_rounded_net(treatment: str, tax: str, gross: str) -> None:
    net = pricing.recurring_net(3, Decimal("40.00"), 19, 28)
    amounts = pricing.line_amounts(net, treatment)
    assert (amounts.net, amounts.tax, amounts.gross) == (
        8143,
        pricing.to_cents(Decimal(tax)),
        pricing.to_cents(Decimal(gross)),
    )


def test_totals_are_sums_of_rounded_lines() -> None:
    # three lines of 10.00 × 10/30 each: 3.33 + 3.33 + 3.33 = 9.99, not 10.00
    lines = [pricing.line_amounts(pricing.recurring_net(1, Decimal("10.00"), 10, 30), "vat_19") for _ in range(3)]
    assert sum(line.net for line in lines) == 999
    assert sum(line.tax for line in lines) == 3 * 63  # 3.33 × 19 % = 0.6327 → 0.63 per line


def test_one_off_and_metered_lines() -> None:
    assert pricing.one_off_net(2, Decimal("150.00")) == Decimal("300.00")
    # 12.5 TB × 8.99 = 112.375 → 112.38
    assert pricing.line_amounts(pricing.metered_net(12_500, Decimal("8.99")), "exempt_public_cooperation").net == 11238


def test_the_fee_is_a_percentage_of_the_net_rounded_once() -> None:
    assert pricing.fee_cents(8143, Decimal("1.5")) == 122  # 1.22145 → 1.22
    assert pricing.fee_cents(8143, Decimal(0)) == 0
    assert pricing.fee_cents(10, Decimal("5")) == 1  # 0.005 → 0.01
    with pytest.raises(ValueError, match="between 0 and 100"):
        pricing.fee_cents(100, Decimal(101))


@pytest.mark.parametrize("text", ["abc", "-1", "100.5", "NaN"])
def test_a_bad_fee_setting_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="SETTLEMENT_FEE_PERCENT"):
        pricing.parse_percent(text)


def test_an_unknown_tax_treatment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tax treatment"):
        pricing.tax_rate("vat_16")
