"""Money is exact: integer cents in the database, ``Decimal`` with two places in Python.

The bounds below are the one place that says how large an amount may get. Every input that feeds a settlement line
(price, quantity, usage) is refused beyond them with a 422 naming the field, the database refuses the same values
(CHECK constraints), and a settlement run refuses, pair by pair, a line or settlement beyond them that was stored
before the rule existed. The arithmetic, in cents (a signed 64-bit integer, PostgreSQL ``BIGINT``, holds
``INT64_MAX`` ≈ 9.22 × 10^18):

- a line's net is at most quantity × unit price: 10^6 × 10^8 = 10^14 cents (1,000,000,000,000.00 EUR), whether
  recurring (pro rata only lowers it), one-off, or metered (10^9 thousandths of a unit × 10^8 / 1000);
- its gross adds at most 19 % tax: 1.19 × 10^14 cents; the fee is a share of the net and adds nothing;
- the ledger refuses a posting of 10^15 cents or more (``ledger.rules.MAX_CENTS``), so a settlement (one entry,
  the sum of its lines) may hold at most ``MAX_SETTLEMENT_CENTS``: eight lines at the largest line still fit;
- any sum of settlements or postings (a run's totals, a ledger balance) stays within ``BIGINT`` for more than
  9,000 settlements of that largest size each, amounts far beyond anything the cooperative books.
"""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")

#: The largest signed 64-bit integer: what a ``BIGINT`` column and SQLite's INTEGER hold.
INT64_MAX = 2**63 - 1
#: Net price of one unit: 1,000,000.00 EUR.
MAX_UNIT_PRICE_CENTS = 100_000_000
#: Units of a request or an agreement (whole units).
MAX_QUANTITY = 1_000_000
#: Metered usage of one agreement in one month: 1,000,000.000 units, kept in thousandths.
MAX_USAGE_MILLI = 1_000_000_000
#: Units an offer may have available; not money, but kept below PostgreSQL's ``INTEGER`` (2,147,483,647).
MAX_CAPACITY = 1_000_000_000
#: The highest tax rate a line can carry, in per cent (``settlement.pricing.TAX_RATES``).
MAX_TAX_PERCENT = 19
#: The largest net of one settlement line: the largest quantity at the largest price.
MAX_LINE_NET_CENTS = MAX_QUANTITY * MAX_UNIT_PRICE_CENTS
#: The largest gross of one settlement line: its net plus the highest tax.
MAX_LINE_GROSS_CENTS = MAX_LINE_NET_CENTS * (100 + MAX_TAX_PERCENT) // 100
#: The largest gross of one settlement: just below what the ledger accepts in one posting (10^15 cents).
MAX_SETTLEMENT_CENTS = 10**15 - 1


def from_cents(cents: int) -> Decimal:
    """Euros with exactly two places (``12345`` → ``Decimal('123.45')``)."""
    return Decimal(int(cents)).scaleb(-2)


def euros(cents: int) -> str:
    """Cents as a plain euro amount for messages (``100000000`` → ``"1000000.00"``)."""
    return f"{from_cents(cents):f}"
