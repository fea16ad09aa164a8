"""Canonical Beancount text. One function per directive; the same input always gives the same bytes.

The text of an entry is what the hash chain covers and what the export writes, so every stored field of the
entry is in it: the ledger's own fields as metadata after the caller's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from ledger.models import Account, Entry

GENESIS_HASH = "0" * 64


def quote(value: str) -> str:
    """A Beancount string literal (backslash and double quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_cents(cents: int) -> str:
    """``-119000`` → ``-1190.00``: exact, no float on the way."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def timestamp(value: dt.datetime) -> str:
    """UTC, microseconds, ISO 8601: the same on both engines."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_text(entry: Entry) -> str:
    """The canonical Beancount text of ``entry``, ending with a newline."""
    head = [entry.date.isoformat(), "*"]
    if entry.payee is not None:
        head.append(quote(entry.payee))
    head.append(quote(entry.narration))
    head.extend("#" + tag for tag in entry.tags)
    head.extend("^" + link for link in entry.links)
    lines = [" ".join(head)]
    lines.extend(f"  {key}: {quote(value)}" for key, value in sorted(entry.metadata.items()))
    lines.append(f"  entry-id: {quote(str(entry.id))}")
    lines.append(f"  idempotency-key: {quote(entry.idempotency_key)}")
    lines.append(f"  actor: {quote(entry.actor)}")
    lines.append(f"  created: {quote(timestamp(entry.created_at))}")
    if entry.reverses is not None:
        lines.append(f"  reverses: {quote(str(entry.reverses))}")
    amounts = [format_cents(posting.cents) for posting in entry.postings]
    account_width = max((len(posting.account) for posting in entry.postings), default=0)
    amount_width = max((len(amount) for amount in amounts), default=0)
    for posting, amount in zip(entry.postings, amounts, strict=True):
        lines.append(f"  {posting.account:<{account_width}}  {amount:>{amount_width}} {posting.currency}")
    return "\n".join(lines) + "\n"


def chain_hash(prev_hash: str, text: str) -> str:
    """The link of the hash chain: sha256 of the previous hash and this entry's canonical text."""
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def balance_text(day: dt.date, account: str, cents: int, currency: str) -> str:
    """A ``balance`` assertion (it holds at the start of ``day``)."""
    return f"{day.isoformat()} balance {account}  {format_cents(cents)} {currency}\n"


def open_text(account: Account) -> str:
    """The Open directive, restricted to the account's currency."""
    return f"{account.opened_on.isoformat()} open {account.name} {account.currency}\n"


def close_text(account: Account) -> str:
    """The Close directive of a closed account, else the empty string."""
    return f"{account.closed_on.isoformat()} close {account.name}\n" if account.closed_on else ""


def main_text(title: str, accounts: Iterable[Account], includes: Iterable[str]) -> str:
    """``main.beancount``: options, Open and Close directives, include lines."""
    ordered = sorted(accounts, key=lambda account: (account.opened_on, account.name))
    parts = [
        "; Exported from the clearing journal. Do not edit: the database is the source of truth.\n",
        f"option {quote('title')} {quote(title)}\n",
        'option "operating_currency" "EUR"\n',
        "\n",
        *(open_text(account) for account in ordered),
    ]
    closes = [close_text(account) for account in sorted(ordered, key=lambda a: (a.closed_on or dt.date.max, a.name))]
    if any(closes):
        parts.append("\n")
        parts.extend(closes)
    include_lines = [f"include {quote(path)}\n" for path in includes]
    if include_lines:
        parts.append("\n")
        parts.extend(include_lines)
    return "".join(parts)
