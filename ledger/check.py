"""Beancount itself checks an entry before it is committed, and the files before they are replaced.

The entry is loaded together with Open (and Close) directives of the accounts it touches, so Beancount checks
the balance, the dates the accounts are open and their currency. It is then compared with what was meant: a
value the printer would mangle (pitfalls.md) shows up as a difference, not as a corrupt file later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

from beancount import loader
from beancount.core import data

from ledger.errors import ExportError, InvalidEntry
from ledger.models import Account, Entry
from ledger.render import close_text, entry_text, format_cents, quote, timestamp


def _messages(errors: Iterable[object]) -> str:
    return "; ".join(str(getattr(error, "message", error)) for error in errors)


def check_entry(entry: Entry, accounts: Iterable[Account]) -> str:
    """Load ``entry`` with Beancount against ``accounts``; its canonical text, or ``InvalidEntry``."""
    text = entry_text(entry)
    header = "".join(
        # An Open may be dated later than a back-dated entry; the journal moves it back before it commits.
        f"{min(account.opened_on, entry.date).isoformat()} open {account.name} {account.currency}\n"
        + close_text(account)
        for account in accounts
    )
    directives, errors, _ = loader.load_string(header + "\n" + text)
    if errors:
        raise InvalidEntry(f"Beancount refuses the entry: {_messages(errors)}")
    transactions = [d for d in directives if isinstance(d, data.Transaction)]
    if len(transactions) != 1:
        raise InvalidEntry("Beancount did not read exactly one transaction from the entry")
    _compare(entry, transactions[0])
    return text


def check_entries(entries: Sequence[Entry], accounts: Iterable[Account]) -> list[str]:
    """Load several entries in ONE Beancount load against ``accounts``; their canonical texts, in order.

    Each is still compared with what was meant. Whatever Beancount refuses is an ``InvalidEntry`` that names
    the entry (its position in ``entries`` and its idempotency key), so a batch is refused as a whole but the
    caller learns which entry was wrong.
    """
    texts = [entry_text(entry) for entry in entries]
    accounts = list(accounts)
    earliest: dict[str, dt.date] = {}
    for entry in entries:
        for posting in entry.postings:
            day = earliest.get(posting.account)
            earliest[posting.account] = entry.date if day is None else min(day, entry.date)
    header = "".join(
        # As in check_entry: an Open moved back to the earliest entry on the account, as the journal does.
        f"{min(account.opened_on, earliest.get(account.name, account.opened_on)).isoformat()} open "
        f"{account.name} {account.currency}\n" + close_text(account)
        for account in accounts
    )
    # The line each entry starts on, so that an error or a parsed transaction can be traced to its entry.
    starts: dict[int, int] = {}
    line = header.count("\n") + 2
    for index, text in enumerate(texts):
        starts[line] = index
        line += text.count("\n") + 1
    directives, errors, _ = loader.load_string(header + "\n" + "\n".join(texts))
    if errors:
        first = errors[0]
        source = getattr(first, "source", None) or {}
        owner = _owner(starts, source.get("lineno"))
        which = "an entry" if owner is None else _name(owner, entries[owner])
        raise InvalidEntry(f"Beancount refuses {which}: {_messages(errors)}")
    transactions = [d for d in directives if isinstance(d, data.Transaction)]
    if len(transactions) != len(entries):
        raise InvalidEntry(f"Beancount read {len(transactions)} transactions from {len(entries)} entries")
    parsed_by_index: dict[int, data.Transaction] = {}
    for parsed in transactions:
        found = starts.get(parsed.meta.get("lineno", -1))
        if found is None or found in parsed_by_index:
            raise InvalidEntry("Beancount read a transaction that is not one of the entries")
        parsed_by_index[found] = parsed
    for index, entry in enumerate(entries):
        _compare(entry, parsed_by_index[index], name=_name(index, entry))
    return texts


def _owner(starts: dict[int, int], lineno: object) -> int | None:
    """The index of the entry whose text contains line ``lineno``, if any."""
    if not isinstance(lineno, int):
        return None
    found = None
    for start, index in starts.items():
        if start > lineno:
            break
        found = index
    return found


def _name(index: int, entry: Entry) -> str:
    return f"entry {index + 1} ({quote(entry.idempotency_key)})"


def _compare(entry: Entry, parsed: data.Transaction, *, name: str = "the entry") -> None:
    expected_meta = {
        **entry.metadata,
        "entry-id": str(entry.id),
        "idempotency-key": entry.idempotency_key,
        "actor": entry.actor,
        "created": timestamp(entry.created_at),
    }
    if entry.reverses is not None:
        expected_meta["reverses"] = str(entry.reverses)
    parsed_meta = {key: value for key, value in parsed.meta.items() if not key.startswith("__")}
    parsed_meta.pop("filename", None)
    parsed_meta.pop("lineno", None)
    differences = []
    if parsed.date != entry.date:
        differences.append("date")
    if (parsed.payee or None) != entry.payee:
        differences.append("payee")
    if parsed.narration != entry.narration:
        differences.append("narration")
    if parsed.tags != frozenset(entry.tags):
        differences.append("tags")
    if parsed.links != frozenset(entry.links):
        differences.append("links")
    if parsed_meta != expected_meta:
        differences.append("metadata")
    legs = [
        (
            posting.account,
            posting.units.number if posting.units else None,
            posting.units.currency if posting.units else None,
        )
        for posting in parsed.postings
    ]
    if legs != [(p.account, p.amount, p.currency) for p in entry.postings]:
        differences.append("postings")
    if differences:
        raise InvalidEntry(f"Beancount reads {name} differently ({', '.join(differences)}): {quote(entry.narration)}")


OPENING_EQUITY = "Equity:Opening-Balances"


def opening_text(day: dt.date, period: str, balances: dict[tuple[str, str], int], accounts: Iterable[Account]) -> str:
    """A transaction that carries ``balances`` (cents by account and currency) into a period, for checking only.

    Accounts not open on ``day`` (closed with a balance) are carried by the equity account, so the transaction
    balances whatever happened before.
    """
    open_on_day = {a.name for a in accounts if a.opened_on <= day and (a.closed_on is None or a.closed_on > day)}
    legs: list[str] = []
    carried: dict[str, int] = {}
    for (account, currency), cents in sorted(balances.items()):
        if cents and account in open_on_day:
            legs.append(f"  {account}  {format_cents(cents)} {currency}\n")
            carried[currency] = carried.get(currency, 0) + cents
    legs.extend(
        f"  {OPENING_EQUITY}  {format_cents(-cents)} {currency}\n"
        for currency, cents in sorted(carried.items())
        if cents
    )
    if not legs:
        return ""
    return f'{day.isoformat()} * "Balances carried into {period} (export check only)"\n' + "".join(legs)


def check_period(staging: Path, header: str, relative: str, opening: str) -> int:
    """Load one period's file on its own: the accounts' directives, the balances carried in, and the file.

    Memory stays bounded by the largest period, however long the journal (pitfalls.md: a year of entries
    should validate on its own).
    """
    check = staging / f".check-{Path(relative).stem}.beancount"
    check.write_text(
        header + f"1900-01-01 open {OPENING_EQUITY}\n\n" + opening + f"\ninclude {quote(relative)}\n",
        encoding="utf-8",
    )
    try:
        directives, errors, _ = loader.load_file(str(check))
    finally:
        check.unlink(missing_ok=True)
    if errors:
        raise ExportError(f"Beancount refuses the export of {Path(relative).stem}: {_messages(errors[:5])}")
    return len(directives)


def check_file(main: Path) -> int:
    """Load an exported ``main.beancount`` with Beancount's loader; return the number of directives.

    Raises ``ExportError`` naming the first errors if Beancount reports any.
    """
    directives, errors, _ = loader.load_file(str(main))
    if errors:
        raise ExportError(f"Beancount refuses the export: {_messages(errors[:5])}")
    return len(directives)
