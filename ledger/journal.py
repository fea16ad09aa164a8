"""Posting and reversing journal entries: validated, checked by Beancount, chained, committed, never changed.

Every booking takes the journal lock (an IMMEDIATE transaction on SQLite, an advisory lock on PostgreSQL) so
that numbers and the hash chain are assigned one entry at a time; the unique indexes make a slip impossible
anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from ledger import rules
from ledger.check import check_entries, check_entry
from ledger.db import JOURNAL_LOCK, lock, transaction
from ledger.errors import (
    AccountClosed,
    AlreadyReversed,
    BalanceAsserted,
    EntryNotFound,
    IdempotencyConflict,
    InvalidEntry,
    LedgerError,
    PeriodClosed,
    UnbalancedEntry,
    UnknownAccount,
)
from ledger.models import Account, Entry, Leg, Posting
from ledger.render import GENESIS_HASH, chain_hash
from ledger.tables import Account as AccountRow
from ledger.tables import Entry as EntryRow
from ledger.tables import Period as PeriodRow
from ledger.tables import Posting as PostingRow
from ledger.tables import RecordedAssertion as AssertionRow


@dataclass(frozen=True, slots=True)
class _Draft:
    """What the caller asked for, validated: everything of an entry that idempotency compares."""

    date: dt.date
    payee: str | None
    narration: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    metadata: dict[str, str]
    postings: tuple[Posting, ...]
    reverses: uuid.UUID | None
    idempotency_key: str
    actor: str


def _now() -> dt.datetime:
    # One place for the clock and the ids, so that snapshot tests can pin them.
    return dt.datetime.now(dt.UTC)


def _new_id() -> uuid.UUID:
    return uuid.uuid4()


def _same_content(draft: _Draft, entry: Entry | _Draft) -> bool:
    return (
        draft.date,
        draft.payee,
        draft.narration,
        draft.tags,
        draft.links,
        draft.metadata,
        draft.postings,
        draft.reverses,
    ) == (
        entry.date,
        entry.payee,
        entry.narration,
        entry.tags,
        entry.links,
        entry.metadata,
        entry.postings,
        entry.reverses,
    )


def _draft(
    *,
    date: dt.date,
    narration: str,
    postings: Sequence[Leg],
    idempotency_key: str,
    actor: str,
    payee: str | None,
    tags: Iterable[str],
    links: Iterable[str],
    metadata: dict[str, str] | None,
    reverses: uuid.UUID | None = None,
) -> _Draft:
    legs: list[Posting] = []
    for leg in postings:
        if not isinstance(leg, Leg):
            raise InvalidEntry("postings must be ledger.Leg values")
        cents = rules.cents(leg.amount)
        legs.append(Posting(rules.account_name(leg.account), Decimal(cents).scaleb(-2), rules.currency(leg.currency)))
    if len(legs) < 2:
        raise InvalidEntry("an entry needs at least two postings")
    totals: dict[str, int] = {}
    for posting in legs:
        totals[posting.currency] = totals.get(posting.currency, 0) + posting.cents
    unbalanced = {currency: total for currency, total in totals.items() if total}
    if unbalanced:
        detail = ", ".join(f"{Decimal(total).scaleb(-2)} {currency}" for currency, total in sorted(unbalanced.items()))
        raise UnbalancedEntry(f"the postings do not balance: they leave {detail}")
    key = rules.text(idempotency_key, "idempotency key", limit=200)
    who = rules.text(actor, "actor", limit=254)
    if not key or not who:
        raise InvalidEntry("idempotency key and actor must not be empty")
    return _Draft(
        date=rules.date(date),
        payee=None if payee is None else rules.text(payee, "payee", limit=200),
        narration=rules.text(narration, "narration", limit=1000),
        tags=rules.tags(list(tags) if not isinstance(tags, str) else tags, "tags"),
        links=rules.tags(list(links) if not isinstance(links, str) else links, "links"),
        metadata=rules.metadata(metadata if metadata is not None else {}),
        postings=tuple(legs),
        reverses=reverses,
        idempotency_key=key,
        actor=who,
    )


async def post(
    *,
    date: dt.date,
    narration: str,
    postings: Sequence[Leg],
    idempotency_key: str,
    actor: str,
    payee: str | None = None,
    tags: Iterable[str] = (),
    links: Iterable[str] = (),
    metadata: dict[str, str] | None = None,
) -> Entry:
    """Book one balanced entry, or return the entry already booked under ``idempotency_key``.

    Raises ``IdempotencyConflict`` if the key was used for different content, ``PeriodClosed`` if ``date`` is
    in a closed period, ``UnknownAccount``/``AccountClosed`` for accounts that are not open on ``date``, and
    ``InvalidEntry`` (``UnbalancedEntry``) for anything Beancount or the rules refuse. Joins the caller's
    transaction if there is one.
    """
    draft = _draft(
        date=date,
        narration=narration,
        postings=postings,
        idempotency_key=idempotency_key,
        actor=actor,
        payee=payee,
        tags=tags,
        links=links,
        metadata=metadata,
    )
    async with transaction():
        await lock(JOURNAL_LOCK)
        return await _book(draft)


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One entry for ``post_many``: the keyword arguments of ``post``."""

    date: dt.date
    narration: str
    postings: Sequence[Leg]
    idempotency_key: str
    actor: str
    payee: str | None = None
    tags: Iterable[str] = ()
    links: Iterable[str] = ()
    metadata: dict[str, str] | None = None


#: Rows per INSERT statement: well below either engine's limit of bound parameters.
_INSERT_ROWS = 500


async def post_many(entries: Sequence[NewEntry]) -> list[Entry]:
    """Book several entries at once, in order, all or none; the booked (or already booked) entries.

    The same as calling ``post`` for each in one transaction, with the same validation and errors, but under
    one journal lock, with one Beancount load of all new entries (each still compared with what was meant) and
    multi-row inserts. Numbers and the hash chain follow the order of ``entries``. An entry whose key is
    already booked (or repeated earlier in the batch) with the same content is returned as it is; with other
    content the whole batch is refused (``IdempotencyConflict``). Any refused entry refuses the whole batch,
    with an error that names the entry. Joins the caller's transaction if there is one.
    """
    drafts: list[_Draft] = []
    for index, new in enumerate(entries):
        try:
            drafts.append(
                _draft(
                    date=new.date,
                    narration=new.narration,
                    postings=new.postings,
                    idempotency_key=new.idempotency_key,
                    actor=new.actor,
                    payee=new.payee,
                    tags=new.tags,
                    links=new.links,
                    metadata=new.metadata,
                )
            )
        except LedgerError as exc:
            raise type(exc)(f"entry {index + 1}: {exc.message}") from exc
    if not drafts:
        return []
    async with transaction():
        await lock(JOURNAL_LOCK)
        return await _book_many(drafts)


async def _book_many(drafts: list[_Draft]) -> list[Entry]:
    existing = await _by_keys([draft.idempotency_key for draft in drafts])
    result: list[Entry | None] = []
    new: list[tuple[int, _Draft]] = []
    first_of_key: dict[str, int] = {}
    for index, draft in enumerate(drafts):
        key = draft.idempotency_key
        booked = existing.get(key)
        if booked is not None:
            if not _same_content(draft, booked):
                raise IdempotencyConflict(
                    f"entry {index + 1}: idempotency key {key!r} was used for entry {booked.id} with different content"
                )
            result.append(booked)
            continue
        if key in first_of_key:
            if not _same_content(draft, drafts[first_of_key[key]]):
                raise IdempotencyConflict(
                    f"entry {index + 1}: idempotency key {key!r} is used earlier in the batch with different content"
                )
            result.append(None)  # the same entry as the earlier one: filled in below
            continue
        first_of_key[key] = index
        new.append((index, draft))
        result.append(None)
    if new:
        booked_now = await _insert_new([draft for _, draft in new])
        for (index, _), entry in zip(new, booked_now, strict=True):
            result[index] = entry
    for index, draft in enumerate(drafts):
        if result[index] is None:
            result[index] = result[first_of_key[draft.idempotency_key]]
    return [entry for entry in result if entry is not None]


async def _insert_new(drafts: list[_Draft]) -> list[Entry]:
    latest = await PeriodRow.select(PeriodRow.period).order_by(PeriodRow.period, ascending=False).first()
    for index, draft in enumerate(drafts):
        if latest is not None and rules.period_of(draft.date) <= str(latest["period"]):
            raise PeriodClosed(
                f"entry {index + 1}: {draft.date} falls into a closed period (closed up to {latest['period']}); "
                "book a correction into an open one"
            )
    await _refuse_asserted(drafts)
    names = sorted({posting.account for draft in drafts for posting in draft.postings})
    rows = await AccountRow.select().where(AccountRow.name.is_in(names))
    known = {row["name"]: account_from_row(row) for row in rows}
    for index, draft in enumerate(drafts):
        try:
            _check_accounts(draft, known)
        except LedgerError as exc:
            raise type(exc)(f"entry {index + 1}: {exc.message}") from exc
    last = await EntryRow.select(EntryRow.number, EntryRow.hash).order_by(EntryRow.number, ascending=False).first()
    number = 0 if last is None else int(last["number"])
    prev_hash = GENESIS_HASH if last is None else str(last["hash"])
    unhashed = [
        Entry(
            id=_new_id(),
            number=number + offset,
            date=draft.date,
            payee=draft.payee,
            narration=draft.narration,
            tags=draft.tags,
            links=draft.links,
            metadata=draft.metadata,
            idempotency_key=draft.idempotency_key,
            actor=draft.actor,
            created_at=_now(),
            reverses=draft.reverses,
            prev_hash="",
            hash="",
            postings=draft.postings,
        )
        for offset, draft in enumerate(drafts, start=1)
    ]
    texts = check_entries(unhashed, [known[name] for name in names])
    entries: list[Entry] = []
    for entry, text in zip(unhashed, texts, strict=True):
        # The chain covers the text, which does not contain the hashes: each link follows the one before.
        link = chain_hash(prev_hash, text)
        entries.append(replace(entry, prev_hash=prev_hash, hash=link))
        prev_hash = link
    earliest: dict[str, dt.date] = {}
    for entry in entries:
        for posting in entry.postings:
            earliest[posting.account] = min(earliest.get(posting.account, entry.date), entry.date)
    moved: dict[dt.date, list[str]] = {}
    for name, day in earliest.items():
        if day < known[name].opened_on:
            moved.setdefault(day, []).append(name)
    for day, moved_names in sorted(moved.items()):
        # An Open is dated no later than the first entry on its account (ledger.md): move it back.
        await AccountRow.update({AccountRow.opened_on: day}).where(AccountRow.name.is_in(moved_names))
    # Postings first: inserting an entry seals it, and the database checks that it balances.
    await _insert_records(
        PostingRow,
        ("id", "entry", "line", "account", "amount_cents", "currency"),
        [
            (uuid.uuid4(), entry.id, line, posting.account, posting.cents, posting.currency)
            for entry in entries
            for line, posting in enumerate(entry.postings)
        ],
    )
    await _insert_records(EntryRow, _ENTRY_COLUMNS, [_entry_values(entry) for entry in entries])
    return entries


_ENTRY_COLUMNS = (
    "id",
    "number",
    "date",
    "payee",
    "narration",
    "tags",
    "links",
    "metadata",
    "idempotency_key",
    "actor",
    "created_at",
    "reverses",
    "prev_hash",
    "hash",
)


def _entry_values(entry: Entry) -> tuple[Any, ...]:
    """The values of an entry's row, in the order of ``_ENTRY_COLUMNS``."""
    return (
        entry.id,
        entry.number,
        entry.date,
        entry.payee,
        entry.narration,
        " ".join(entry.tags),
        " ".join(entry.links),
        json.dumps(entry.metadata, sort_keys=True, ensure_ascii=False),
        entry.idempotency_key,
        entry.actor,
        entry.created_at,
        entry.reverses,
        entry.prev_hash,
        entry.hash,
    )


def _entry_row(entry: Entry) -> EntryRow:
    return EntryRow(**dict(zip(_ENTRY_COLUMNS, _entry_values(entry), strict=True)))


async def _insert_records(table: type[Table], columns: Sequence[str], records: list[tuple[Any, ...]]) -> None:
    """Rows in bulk inside the current transaction: one COPY on PostgreSQL, multi-row INSERTs on SQLite.

    COPY fires the journal's triggers and checks its constraints just as INSERT does.
    """
    db = table._meta.db  # the table's engine: finding it through piccolo_conf again costs more than the COPY
    current = db.current_transaction.get()
    if isinstance(db, PostgresEngine) and current is not None:
        await current.connection.copy_records_to_table(table._meta.tablename, records=records, columns=list(columns))
        return
    for start in range(0, len(records), _INSERT_ROWS):
        await table.insert(
            *(table(**dict(zip(columns, record, strict=True))) for record in records[start : start + _INSERT_ROWS])
        )


async def reverse(
    entry_id: uuid.UUID,
    *,
    reason: str,
    actor: str,
    date: dt.date,
    idempotency_key: str | None = None,
) -> Entry:
    """Book the reversal of ``entry_id``: the same postings negated, the same links, ``reverses`` set.

    ``reason`` becomes the narration. The key defaults to ``reversal:<entry id>``, so repeating the call
    returns the same reversal. An entry is reversed at most once (``AlreadyReversed``).
    """
    async with transaction():
        await lock(JOURNAL_LOCK)
        original = await get_entry(entry_id)
        draft = _draft(
            date=date,
            narration=reason,
            postings=[Leg(p.account, -p.amount, p.currency) for p in original.postings],
            idempotency_key=idempotency_key or f"reversal:{original.id}",
            actor=actor,
            payee=original.payee,
            tags=original.tags,
            links=original.links,
            metadata=original.metadata,
            reverses=original.id,
        )
        if await _by_key(draft.idempotency_key) is None:
            if await EntryRow.exists().where(EntryRow.reverses == original.id):
                raise AlreadyReversed(f"entry {original.id} has been reversed already")
            if draft.date < original.date:
                raise InvalidEntry(f"a reversal cannot be dated before the entry it reverses ({original.date})")
        return await _book(draft)


async def _book(draft: _Draft) -> Entry:
    existing = await _by_key(draft.idempotency_key)
    if existing is not None:
        if _same_content(draft, existing):
            return existing
        raise IdempotencyConflict(
            f"idempotency key {draft.idempotency_key!r} was used for entry {existing.id} with different content"
        )
    await _refuse_closed_period(draft.date)
    await _refuse_asserted([draft])
    accounts = await _open_accounts(draft)
    last = await EntryRow.select(EntryRow.number, EntryRow.hash).order_by(EntryRow.number, ascending=False).first()
    number = 1 if last is None else int(last["number"]) + 1
    prev_hash = GENESIS_HASH if last is None else str(last["hash"])
    entry = Entry(
        id=_new_id(),
        number=number,
        date=draft.date,
        payee=draft.payee,
        narration=draft.narration,
        tags=draft.tags,
        links=draft.links,
        metadata=draft.metadata,
        idempotency_key=draft.idempotency_key,
        actor=draft.actor,
        created_at=_now(),
        reverses=draft.reverses,
        prev_hash=prev_hash,
        hash="",
        postings=draft.postings,
    )
    text = check_entry(entry, accounts)
    entry = replace(entry, hash=chain_hash(prev_hash, text))
    for account in accounts:
        # An Open is dated no later than the first entry on its account (ledger.md): move it back.
        if entry.date < account.opened_on:
            await AccountRow.update({AccountRow.opened_on: entry.date}).where(AccountRow.name == account.name)
    # Postings first: inserting the entry seals it, and the database checks that it balances.
    await PostingRow.insert(
        *(
            PostingRow(
                id=uuid.uuid4(),
                entry=entry.id,
                line=line,
                account=posting.account,
                amount_cents=posting.cents,
                currency=posting.currency,
            )
            for line, posting in enumerate(entry.postings)
        )
    )
    await EntryRow.insert(_entry_row(entry))
    return entry


async def _refuse_closed_period(date: dt.date) -> None:
    latest = await PeriodRow.select(PeriodRow.period).order_by(PeriodRow.period, ascending=False).first()
    if latest is not None and rules.period_of(date) <= str(latest["period"]):
        raise PeriodClosed(
            f"{date} falls into a closed period (closed up to {latest['period']}); book a correction into an open one"
        )


async def _refuse_asserted(drafts: Sequence[_Draft]) -> None:
    """Refuse entries dated before a recorded balance assertion of one of their accounts.

    An assertion holds at the start of its date; an entry dated earlier would change the balance it proves, and
    the next export would fail its check. Called under the journal lock, which ``assert_balance`` takes too.
    """
    names = sorted({posting.account for draft in drafts for posting in draft.postings})
    rows = await AssertionRow.select(AssertionRow.account, AssertionRow.date).where(AssertionRow.account.is_in(names))
    latest: dict[str, dt.date] = {}
    for row in rows:
        latest[row["account"]] = max(row["date"], latest.get(row["account"], row["date"]))
    for index, draft in enumerate(drafts):
        for name in sorted({posting.account for posting in draft.postings}):
            asserted = latest.get(name)
            if asserted is not None and draft.date < asserted:
                where = f"entry {index + 1}: " if len(drafts) > 1 else ""
                raise BalanceAsserted(
                    f"{where}the balance of {name} is asserted at the start of {asserted}; an entry dated "
                    f"{draft.date} would break it - date it {asserted} or later"
                )


async def _open_accounts(draft: _Draft) -> list[Account]:
    names = sorted({posting.account for posting in draft.postings})
    rows = await AccountRow.select().where(AccountRow.name.is_in(names))
    accounts = {row["name"]: account_from_row(row) for row in rows}
    _check_accounts(draft, accounts)
    return [accounts[name] for name in names]


def _check_accounts(draft: _Draft, accounts: dict[str, Account]) -> None:
    """Every account of ``draft`` exists, is open on its date and is kept in the posting's currency."""
    names = sorted({posting.account for posting in draft.postings})
    for name in names:
        account = accounts.get(name)
        if account is None:
            raise UnknownAccount(f"account {name} is not open")
        if account.closed_on is not None and draft.date > account.closed_on:
            raise AccountClosed(f"account {name} was closed on {account.closed_on}")
    for posting in draft.postings:
        if posting.currency != accounts[posting.account].currency:
            raise InvalidEntry(
                f"account {posting.account} is kept in {accounts[posting.account].currency}, not {posting.currency}"
            )


async def _by_keys(keys: list[str]) -> dict[str, Entry]:
    wanted = sorted(set(keys))
    if isinstance(EntryRow._meta.db, PostgresEngine):
        # One probe of the unique index per key, whatever the statistics say: with "IN (...)" PostgreSQL
        # scanned the whole journal while its statistics still described an empty table.
        rows = await EntryRow.raw(
            "SELECT found.* FROM unnest({}::varchar[]) AS wanted(key) CROSS JOIN LATERAL ("
            "SELECT * FROM ledger_entries WHERE idempotency_key = wanted.key LIMIT 1) AS found",
            wanted,
        )
    else:
        rows = await EntryRow.select().where(EntryRow.idempotency_key.is_in(wanted))
    return {entry.idempotency_key: entry for entry in await entries_from_rows(rows)}


async def _by_key(key: str) -> Entry | None:
    row = await EntryRow.select().where(EntryRow.idempotency_key == key).first()
    return None if row is None else (await entries_from_rows([row]))[0]


async def get_entry(entry_id: uuid.UUID) -> Entry:
    """The entry with id ``entry_id`` (``EntryNotFound`` otherwise)."""
    row = await EntryRow.select().where(EntryRow.id == entry_id).first()
    if row is None:
        raise EntryNotFound(f"no journal entry {entry_id}")
    return (await entries_from_rows([row]))[0]


async def get_entry_by_key(idempotency_key: str) -> Entry | None:
    """The entry booked under ``idempotency_key``, if any."""
    return await _by_key(idempotency_key)


def as_uuid(value: Any) -> uuid.UUID:
    """A ``uuid.UUID`` from what either driver returns."""
    return value if type(value) is uuid.UUID else uuid.UUID(str(value))


def account_from_row(row: dict[str, Any]) -> Account:
    """An ``Account`` from a row of ``ledger_accounts``."""
    return Account(
        name=str(row["name"]),
        currency=str(row["currency"]),
        opened_on=row["opened_on"],
        closed_on=row["closed_on"],
    )


async def entries_from_rows(rows: Sequence[dict[str, Any]]) -> list[Entry]:
    """Entries from rows of ``ledger_entries``, with their postings, in the order of ``rows``."""
    if not rows:
        return []
    ids = [as_uuid(row["id"]) for row in rows]
    legs: dict[uuid.UUID, list[Posting]] = {entry_id: [] for entry_id in ids}
    posting_rows = (
        await PostingRow.select(PostingRow.entry, PostingRow.account, PostingRow.amount_cents, PostingRow.currency)
        .where(PostingRow.entry.is_in(ids))
        .order_by(PostingRow.entry)
        .order_by(PostingRow.line)
    )
    for posting in posting_rows:
        legs[as_uuid(posting["entry"])].append(
            Posting(
                str(posting["account"]),
                Decimal(int(posting["amount_cents"])).scaleb(-2),
                str(posting["currency"]),
            )
        )
    return [
        Entry(
            id=entry_id,
            number=int(row["number"]),
            date=row["date"],
            payee=row["payee"],
            narration=str(row["narration"]),
            tags=tuple(str(row["tags"]).split()),
            links=tuple(str(row["links"]).split()),
            metadata=dict(json.loads(row["metadata"])),
            idempotency_key=str(row["idempotency_key"]),
            actor=str(row["actor"]),
            created_at=row["created_at"],
            reverses=None if row["reverses"] is None else as_uuid(row["reverses"]),
            prev_hash=str(row["prev_hash"]),
            hash=str(row["hash"]),
            postings=tuple(legs[entry_id]),
        )
        for entry_id, row in zip(ids, rows, strict=True)
    ]
