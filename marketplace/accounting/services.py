"""The rules of the accounting context: who sees which part of the ledger, and closing months.

The cooperative's roles (coop_admin, coop_accountant, auditor) read the whole ledger and any member's part; a
member's accountant reads only its own member's part: asking for another member answers ``NotFound``, never
data. Every number comes from the ``ledger`` library; nothing here books or computes money itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO

import ledger
from ledger import rules
from ledger.check import check_file
from ledger.render import balance_text, entry_text, format_cents, main_text, quote
from ledger.stream import entries, last_number
from marketplace import periods
from marketplace.accounting import schemas
from marketplace.audit import services as audit_services
from marketplace.auth import Actor, Principal
from marketplace.clock import now
from marketplace.db import transaction
from marketplace.errors import FieldError, InvalidInput, InvalidTransition, NotFound
from marketplace.members import services as member_services
from marketplace.pagination import decode_cursor, encode_cursor

#: The balancing account of the opening entry of an export that starts at ``from``.
OPENING_BALANCES = "Equity:Opening-Balances"
_RECEIVABLE = "Assets:Receivable:"
_PAYABLE = "Liabilities:Payable:"
_CHUNK = 64 * 1024


def money(amount: Decimal) -> str:
    """An exact amount as the API writes it: two decimal places, no exponent."""
    return f"{amount.quantize(Decimal('0.01')):f}"


# --- input and visibility ------------------------------------------------------------------------------


def check_range(start: dt.date | None, end: dt.date | None) -> None:
    """``from`` and ``to`` in range and in order."""
    periods.check_date(start, "from")
    periods.check_date(end, "to")
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            f"from ({start}) lies after to ({end}).",
            errors=[FieldError(field="from", message="after to")],
        )


async def visible_member(viewer: Principal, member: str | None) -> str | None:
    """The member whose part of the ledger ``viewer`` reads; None means the whole ledger.

    A member's accountant reads its own member (the default); another member's code answers ``NotFound``,
    the same answer as for a member that does not exist.
    """
    if viewer.sees_all_members:
        if member is not None:
            await member_services.get_member(member, None)
        return member
    if member is None or member == viewer.member_code:
        return viewer.member_code
    raise NotFound(f"There is no member with the code {member!r} whose ledger you may read.")


# --- balances and statements ---------------------------------------------------------------------------


def _member_of(account: str) -> str | None:
    for prefix in (_RECEIVABLE, _PAYABLE):
        if account.startswith(prefix):
            return account.removeprefix(prefix)
    return None


def _positions(found: Iterable[ledger.Balance], codes: Iterable[str]) -> list[schemas.MemberPosition]:
    owes: dict[tuple[str, str], Decimal] = {}
    owed: dict[tuple[str, str], Decimal] = {}
    currencies = {code: {"EUR"} for code in codes}
    for balance in found:
        code = _member_of(balance.account)
        if code is None:
            continue
        currencies.setdefault(code, set()).add(balance.currency)
        if balance.account.startswith(_RECEIVABLE):
            owes[code, balance.currency] = balance.amount
        else:
            # A liability has a negative balance in Beancount; what the cooperative owes the member is its negation.
            owed[code, balance.currency] = -balance.amount
    zero = Decimal("0.00")
    return [
        schemas.MemberPosition(
            member=code,
            currency=currency,
            receivable=money(owes.get((code, currency), zero)),
            payable=money(owed.get((code, currency), zero)),
            net=money(owes.get((code, currency), zero) - owed.get((code, currency), zero)),
        )
        for code in sorted(currencies)
        for currency in sorted(currencies[code])
    ]


async def get_balances(viewer: Principal, *, as_of: dt.date | None, member: str | None) -> schemas.Balances:
    """Balances per account and per member at the end of ``as_of``: all of them, or one member's."""
    periods.check_date(as_of, "as_of")
    code = await visible_member(viewer, member)
    found = await ledger.balances(as_of=as_of, member=code)
    if code is not None:
        codes: list[str] = [code]
    else:
        codes = sorted({c for a in await ledger.list_accounts() if (c := _member_of(a.name)) is not None})
    return schemas.Balances(
        as_of=as_of,
        member=code,
        accounts=[
            schemas.AccountBalance(account=b.account, currency=b.currency, balance=money(b.amount)) for b in found
        ],
        members=_positions(found, codes),
    )


async def member_net_at_each(viewer: Principal, member: str | None, days: list[dt.date]) -> list[Decimal]:
    """What ``member`` owes net in euros (negative: is owed) at the end of each of ``days``, in their order."""
    code = await visible_member(viewer, member)
    if code is None:
        raise NotFound("Name the member whose balances to read.")
    found = await ledger.balances_at_each(days, member=code)
    nets: list[Decimal] = []
    for day in days:
        positions = _positions(found[day], [code])
        nets.append(sum((Decimal(p.net) for p in positions if p.currency == "EUR"), Decimal(0)))
    return nets


def _statement_out(statement: ledger.Statement) -> schemas.AccountStatement:
    return schemas.AccountStatement(
        account=statement.account,
        currency=statement.currency,
        opening_balance=money(statement.opening_balance),
        closing_balance=money(statement.closing_balance),
        lines=[
            schemas.StatementLine(
                date=line.date,
                entry_id=line.entry_id,
                number=line.number,
                payee=line.payee,
                narration=line.narration,
                links=list(line.links),
                amount=money(line.amount),
                balance=money(line.balance),
            )
            for line in statement.lines
        ],
    )


async def get_statement(
    viewer: Principal, *, member: str | None, start: dt.date | None, end: dt.date | None
) -> schemas.Statement:
    """A statement with running balances: the member's two accounts, or (for the cooperative) every account."""
    check_range(start, end)
    code = await visible_member(viewer, member)
    accounts = await ledger.list_accounts()
    wanted = set(ledger.member_accounts(code)) if code is not None else None
    statements = [
        _statement_out(await ledger.statement(account.name, start=start, end=end))
        for account in accounts
        if wanted is None or account.name in wanted
    ]
    return schemas.Statement(member=code, start=start, end=end, accounts=statements)


# --- periods and verification --------------------------------------------------------------------------


def _months(first: dt.date, last: dt.date) -> list[str]:
    months: list[str] = []
    day = first.replace(day=1)
    while day <= last:
        months.append(rules.period_of(day))
        day = rules.next_month(day)
    return months


def _period_out(closed: ledger.ClosedPeriod, own: frozenset[str] | None, *, show_actor: bool) -> schemas.Period:
    return schemas.Period(
        period=closed.period,
        state="closed",
        closed_at=closed.closed_at,
        closed_by=closed.closed_by if show_actor else None,
        entry_count=closed.entry_count,
        file_sha256=closed.file_sha256,
        assertions=[
            schemas.AccountBalance(account=a.account, currency=a.currency, balance=money(a.amount))
            for a in closed.assertions
            if own is None or a.account in own
        ],
    )


async def list_periods(viewer: Principal, *, limit: int, cursor: str | None) -> schemas.PeriodPage:
    """Every month from the first account's opening to this month, oldest first: open, or closed with its hash.

    A member's accountant sees the balances asserted on its own accounts only.
    """
    own = None if viewer.sees_all_members else frozenset(ledger.member_accounts(viewer.member_code))
    closed = {period.period: period for period in await ledger.closed_periods()}
    accounts = await ledger.list_accounts()
    months = set(closed)
    if accounts:
        months.update(_months(min(account.opened_on for account in accounts), now().date()))
    key = decode_cursor(cursor, 1)
    ordered = sorted(month for month in months if key is None or month > key[0])
    items = [
        _period_out(closed[month], own, show_actor=viewer.sees_all_members)
        if month in closed
        else schemas.Period(period=month, state="open")
        for month in ordered[:limit]
    ]
    next_cursor = encode_cursor(items[-1].period) if len(ordered) > limit else None
    return schemas.PeriodPage(items=items, next_cursor=next_cursor)


async def close_period(period: str, actor: Actor, *, today: dt.date | None = None) -> schemas.Period:
    """Close the month ``period`` once it has ended; closing a closed month again answers it unchanged.

    A month that has not ended yet is refused (``InvalidTransition``, 409 with state ``open``). The closing and
    its audit event commit together.
    """
    _, last = periods.check_period(period)
    today = today or now().date()
    async with transaction():
        existing = await ledger.get_closed_period(period)
        if existing is not None:
            return _period_out(existing, None, show_actor=True)
        if last >= today:
            raise InvalidTransition(
                f"The period {period} has not ended yet: it ends on {last}.",
                state="open",
            )
        closed = await ledger.close_period(period, actor=actor.label)
        await audit_services.record(
            actor,
            action="ledger.period_closed",
            subject_type="ledger_period",
            subject_id=period,
            member_id=None,
            before={"state": "open"},
            after={"state": "closed", "entry_count": closed.entry_count, "file_sha256": closed.file_sha256},
        )
    return _period_out(closed, None, show_actor=True)


async def verify() -> schemas.VerifyResult:
    """Recompute the hash chain and the closed periods' file hashes; the first break, if any."""
    report = await ledger.verify()
    return schemas.VerifyResult(
        ok=report.ok,
        first_break=report.first_break,
        entries_checked=report.entries_checked,
        periods_checked=report.periods_checked,
        entry_id=report.entry_id,
        period=report.period,
    )


# --- export --------------------------------------------------------------------------------------------


async def export_files(directory: Path | str, *, member: str | None = None) -> ledger.ExportResult:
    """Write ``main.beancount`` and one file per period (the whole ledger or a member's part) into ``directory``."""
    if member is not None:
        await member_services.get_member(member, None)
    return await ledger.export(directory, member=member)


def _opening_text(day: dt.date, found: Sequence[ledger.Balance]) -> str:
    """One entry on ``day`` that brings every account to its balance at the end of the day before."""
    legs = [(b.account, format_cents(int(b.amount.scaleb(2))), b.currency) for b in found if b.amount]
    totals: dict[str, int] = {}
    for balance in found:
        totals[balance.currency] = totals.get(balance.currency, 0) - int(balance.amount.scaleb(2))
    legs.extend(
        (OPENING_BALANCES, format_cents(cents), currency) for currency, cents in sorted(totals.items()) if cents
    )
    if not legs:
        return ""
    width = max(len(account) for account, _, _ in legs)
    amount_width = max(len(amount) for _, amount, _ in legs)
    before = day - dt.timedelta(days=1)
    lines = [f"{day.isoformat()} * {quote('Eröffnungssalden')} {quote(f'Salden am {before.isoformat()}')}"]
    lines.extend(f"  {account:<{width}}  {amount:>{amount_width}} {currency}" for account, amount, currency in legs)
    return "\n".join(lines) + "\n\n"


class _Body:
    """The entries and balance assertions of the export, written to a file as they come."""

    def __init__(self, handle: IO[str], closed: Sequence[ledger.ClosedPeriod], own: frozenset[str] | None) -> None:
        self.handle = handle
        self.pending = list(closed)
        self.own = own

    def assertions_before(self, period: str | None) -> None:
        """Write the balance assertions of the closed periods before ``period`` (all if None)."""
        while self.pending and (period is None or self.pending[0].period < period):
            closed = self.pending.pop(0)
            day = rules.next_month(rules.period(closed.period)[0])
            self.handle.write(
                "".join(
                    balance_text(day, a.account, int(a.amount.scaleb(2)), a.currency)
                    for a in closed.assertions
                    if self.own is None or a.account in self.own
                )
            )


async def _write_export(
    path: Path, *, member: str | None, start: dt.date | None, end: dt.date | None
) -> tuple[int, Path]:
    """Render the export into ``path`` chunk by chunk; the number of entries and the file."""
    own = frozenset(ledger.member_accounts(member)) if member is not None else None
    snapshot = await last_number()
    accounts = await ledger.list_accounts()
    # A closed month's balances are asserted when its last day is in the range: then every entry they sum up is
    # either in the file or in its opening balances.
    closed = [
        period
        for period in await ledger.closed_periods()
        if (start is None or rules.period(period.period)[1] >= start)
        and (end is None or rules.period(period.period)[1] <= end)
    ]
    opening = ""
    if start is not None:
        shut = {a.name for a in accounts if a.closed_on is not None and a.closed_on < start}
        found = [
            b for b in await ledger.balances(as_of=start - dt.timedelta(days=1), member=member) if b.account not in shut
        ]
        opening = _opening_text(start, found)
    used: set[str] = set(own or ())
    count = 0
    body_path = path.with_suffix(".body")
    with body_path.open("w", encoding="utf-8") as handle:
        body = _Body(handle, closed, own)
        handle.write(opening)
        async for batch in entries(
            start=start, end=end, accounts=sorted(own) if own is not None else None, max_number=snapshot
        ):
            chunk: list[str] = []
            for entry in batch:
                period = rules.period_of(entry.date)
                if body.pending and body.pending[0].period < period:
                    handle.write("".join(chunk))
                    chunk = []
                    body.assertions_before(period)
                chunk.append(entry_text(entry) + "\n")
                used.update(posting.account for posting in entry.postings)
                count += 1
            handle.write("".join(chunk))
        body.assertions_before(None)
        # Balances recorded for days in the range (bank statements' closing balances) hold on this file alone.
        handle.write("".join(a.text() for a in await ledger.recorded_assertions(start=start, end=end, accounts=own)))
    title = "Clearing ledger" if member is None else f"Clearing ledger: {member}"
    if start is not None or end is not None:
        title += f" ({start or '…'} – {end or '…'})"
    shown = [account for account in accounts if own is None or account.name in used]
    with path.open("w", encoding="utf-8") as handle:
        handle.write(main_text(title, shown, []))
        if opening:
            handle.write(f"{start} open {OPENING_BALANCES}\n")
        handle.write("\n")
        with body_path.open(encoding="utf-8") as source:
            shutil.copyfileobj(source, handle, _CHUNK)
    body_path.unlink()
    return count, path


async def export_text(
    viewer: Principal, *, member: str | None, start: dt.date | None, end: dt.date | None
) -> tuple[str, AsyncIterator[bytes]]:
    """One self-contained Beancount file of the visible part of the ledger, dated ``from``..``to``.

    With ``from``, an opening entry brings each account to its balance of the day before (against
    ``Equity:Opening-Balances``). The file is written to a temporary folder, loaded with Beancount (an export
    Beancount refuses raises ``ExportError``), and then streamed in chunks; memory stays flat while rendering.
    Answers a suggested file name and the chunks.
    """
    check_range(start, end)
    code = await visible_member(viewer, member)
    folder = Path(tempfile.mkdtemp(prefix="ledger-export-"))
    try:
        _, path = await _write_export(folder / "export.beancount", member=code, start=start, end=end)
        await asyncio.to_thread(check_file, path)
        handle = path.open("rb")
    finally:
        # The open handle keeps the file readable after its folder is gone (and nothing is left behind).
        shutil.rmtree(folder, ignore_errors=True)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while data := await asyncio.to_thread(handle.read, _CHUNK):
                yield data
        finally:
            handle.close()

    parts = ["ledger", code or "all", *(str(day) for day in (start, end) if day is not None)]
    return "-".join(parts) + ".beancount", chunks()
