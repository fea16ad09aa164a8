"""Money is exact: integer cents in the database, ``Decimal`` with two places in Python."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def from_cents(cents: int) -> Decimal:
    """Euros with exactly two places (``12345`` → ``Decimal('123.45')``)."""
    return Decimal(int(cents)).scaleb(-2)
