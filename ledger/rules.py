"""Input rules: what Beancount and the account scheme accept, checked before anything touches the database.

Beancount's printer does not escape tags or links and refuses some metadata (pitfalls.md), so each is checked
here with a message that names the offending value.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from ledger.errors import InvalidAccount, InvalidEntry

ROOTS = ("Assets", "Liabilities", "Equity", "Income", "Expenses")
_COMPONENT = re.compile(r"[A-Z0-9][A-Za-z0-9-]*")
_MEMBER_CODE = re.compile(r"[A-Z][A-Z0-9-]{0,31}")
_TAG = re.compile(r"[A-Za-z0-9\-_/.]+")
_META_KEY = re.compile(r"[a-z][a-zA-Z0-9_-]*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
# Control characters would break the one-line Beancount strings.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Metadata keys the ledger writes itself; a caller may not set them.
RESERVED_META = frozenset({"entry-id", "idempotency-key", "actor", "created", "reverses", "filename", "lineno"})
MAX_CENTS = 10**15


def account_name(name: str) -> str:
    """``name`` if it is a valid Beancount account of our scheme, else ``InvalidAccount``."""
    parts = name.split(":") if isinstance(name, str) else []
    if len(parts) < 2 or parts[0] not in ROOTS or len(name) > 200:
        raise InvalidAccount(f"account {name!r} must start with one of {', '.join(ROOTS)} and have a sub-account")
    for part in parts[1:]:
        if not _COMPONENT.fullmatch(part):
            raise InvalidAccount(
                f"account {name!r}: component {part!r} must start with an upper-case letter or a digit "
                "and contain only letters, digits and hyphens"
            )
    return name


def member_code(code: str) -> str:
    """``code`` if it is a valid member code (upper-case letters, digits, hyphens, a letter first)."""
    if not isinstance(code, str) or not _MEMBER_CODE.fullmatch(code):
        raise InvalidAccount(f"member code {code!r} must be upper-case letters, digits and hyphens, a letter first")
    return code


def currency(value: str) -> str:
    """``value`` if it is a three-letter upper-case currency code."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise InvalidEntry(f"currency {value!r} must be three upper-case letters")
    return value


def cents(amount: Decimal) -> int:
    """The amount in integer cents; refuses floats, non-finite values and more than two decimals."""
    if not isinstance(amount, Decimal):
        raise InvalidEntry(f"amount {amount!r} must be a Decimal")
    try:
        if not amount.is_finite():
            raise InvalidEntry(f"amount {amount} is not finite")
        scaled = amount * 100
        if scaled != scaled.to_integral_value():
            raise InvalidEntry(f"amount {amount} has more than two decimal places")
    except InvalidOperation as exc:
        raise InvalidEntry(f"amount {amount!r} is not a number") from exc
    value = int(scaled)
    if value == 0:
        raise InvalidEntry("a posting of zero is not allowed")
    if abs(value) >= MAX_CENTS:
        raise InvalidEntry(f"amount {amount} is too large")
    return value


def tags(values: object, what: str) -> tuple[str, ...]:
    """Sorted, unique tags or links; each must match ``[A-Za-z0-9-_/.]+``."""
    if isinstance(values, str) or not isinstance(values, list | tuple | set | frozenset):
        raise InvalidEntry(f"{what} must be a list of strings")
    for value in values:
        if not isinstance(value, str) or not _TAG.fullmatch(value) or len(value) > 100:
            raise InvalidEntry(f"{what[:-1]} {value!r} may contain only letters, digits and - _ / .")
    return tuple(sorted(set(values)))


def metadata(values: object) -> dict[str, str]:
    """Metadata with keys Beancount accepts (a lower-case letter first) and string values."""
    if not isinstance(values, dict):
        raise InvalidEntry("metadata must be a mapping of strings")
    result: dict[str, str] = {}
    for key in sorted(values):
        value = values[key]
        if not isinstance(key, str) or not _META_KEY.fullmatch(key) or len(key) > 64:
            raise InvalidEntry(
                f"metadata key {key!r} must start with a lower-case letter and contain only letters, digits, - and _"
            )
        if key in RESERVED_META:
            raise InvalidEntry(f"metadata key {key!r} is reserved for the ledger")
        # Beancount's printer raises on integers; strings only keep the text canonical.
        result[key] = text(value, f"metadata {key!r}", limit=1000)
    return result


def text(value: object, what: str, *, limit: int) -> str:
    """A one-line string of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise InvalidEntry(f"{what} must be a string")
    if _CONTROL.search(value):
        raise InvalidEntry(f"{what} must not contain control characters or line breaks")
    if len(value) > limit:
        raise InvalidEntry(f"{what} is longer than {limit} characters")
    return value


def date(value: object) -> dt.date:
    """A calendar date (a ``datetime`` is refused: the ledger books days, not instants)."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidEntry(f"date {value!r} must be a datetime.date")
    return value


def period(value: str) -> tuple[dt.date, dt.date]:
    """First and last day of the month ``YYYY-MM``."""
    match = _PERIOD.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidEntry(f"period {value!r} must be a month, YYYY-MM")
    first = dt.date(int(match.group(1)), int(match.group(2)), 1)
    return first, next_month(first) - dt.timedelta(days=1)


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s month."""
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_of(day: dt.date) -> str:
    """The period ``YYYY-MM`` that contains ``day``."""
    return f"{day.year:04d}-{day.month:02d}"


def decimal_cents(value: int) -> Decimal:
    """Integer cents as an exact Decimal with two places."""
    return Decimal(value).scaleb(-2)
