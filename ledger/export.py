"""Export of the journal as Beancount files: ``main.beancount`` plus ``YYYY/YYYY-MM.beancount`` per period.

One writer at a time (a file lock beside the files, and an advisory lock on PostgreSQL). The files are written
to a staging folder, fsynced, loaded with Beancount's loader, and only then renamed over the old ones. Entries
are read in batches and written as they come, so memory does not grow with the journal. The same journal gives
byte-identical files; a closed period's file must hash to what was frozen when it was closed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ledger import rules
from ledger.accounts import list_accounts, member_accounts
from ledger.assertions import RecordedBalance, recorded_by_period
from ledger.check import check_file, check_period, opening_text
from ledger.db import EXPORT_LOCK, engine, is_postgres, lock
from ledger.errors import ExportError
from ledger.models import ClosedPeriod
from ledger.periods import closed_periods
from ledger.render import balance_text, entry_text, main_text
from ledger.stream import BATCH_SIZE, entries, last_number

MAIN = "main.beancount"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote: the folder, the files relative to it (main first), the number of entries."""

    directory: Path
    files: tuple[str, ...]
    entries: int


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _PeriodFile:
    """One period's file being written, hashed as it goes."""

    def __init__(self, staging: Path, period: str) -> None:
        self.period = period
        self.relative = f"{period[:4]}/{period}.beancount"
        path = staging / self.relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle: IO[bytes] = path.open("wb")
        self.digest = hashlib.sha256()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.digest.update(data)
        self.handle.write(data)

    def finish(
        self, closed: ClosedPeriod | None, accounts: frozenset[str] | None, recorded: list[RecordedBalance]
    ) -> None:
        # The same order as periods.period_file, so that a closed period's file hashes to what was frozen.
        self.write("".join(assertion.text() for assertion in recorded))
        if closed is not None:
            day = rules.next_month(rules.period(closed.period)[0])
            self.write(
                "".join(
                    balance_text(day, a.account, int(a.amount.scaleb(2)), a.currency)
                    for a in closed.assertions
                    if accounts is None or a.account in accounts
                )
            )
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        if closed is not None and accounts is None and self.digest.hexdigest() != closed.file_sha256:
            raise ExportError(f"closed period {closed.period} no longer matches its frozen file: run verify")


@asynccontextmanager
async def _writer_lock(directory: Path) -> AsyncIterator[None]:
    fd = os.open(directory / ".export.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        # flock blocks: wait for it in a thread so that the event loop keeps serving.
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        db = engine()
        if is_postgres() and db.current_transaction.get() is None:
            async with db.transaction():
                await lock(EXPORT_LOCK)
                yield
        else:
            await lock(EXPORT_LOCK)
            yield
    finally:
        # Closing the descriptor releases the flock.
        os.close(fd)


async def export(directory: Path | str, *, member: str | None = None, batch_size: int = BATCH_SIZE) -> ExportResult:
    """Write the whole journal, or member ``member``'s part of it, as Beancount files into ``directory``.

    A member's files hold the entries touching its accounts with all their postings (so that they balance) and
    the balance assertions of its own accounts. Raises ``ExportError`` if Beancount refuses the result or a
    closed period no longer matches its frozen hash; the old files are then left as they were.
    """
    target = Path(directory)
    await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
    own = frozenset(member_accounts(member)) if member is not None else None
    async with _writer_lock(target):
        snapshot = await last_number()
        accounts = await list_accounts()
        closed = {period.period: period for period in await closed_periods()}
        recorded = await recorded_by_period(accounts=own)
        # Periods with recorded assertions but no entries get a file too, after the entries' periods before them.
        only_asserted = sorted(recorded)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target))
        try:
            written: list[str] = []
            used: set[str] = set(own or ())
            count = 0
            current: _PeriodFile | None = None
            # Running balances, and their value at the start of each period: each file is checked on its own.
            balances: dict[tuple[str, str], int] = {}
            openings: dict[str, dict[tuple[str, str], int]] = {}
            async for batch in entries(
                accounts=sorted(own) if own is not None else None, max_number=snapshot, batch_size=batch_size
            ):
                chunk: list[str] = []
                for entry in batch:
                    period = rules.period_of(entry.date)
                    if current is None or current.period != period:
                        if current is not None:
                            current.write("".join(chunk))
                            chunk = []
                            current.finish(closed.get(current.period), own, recorded.get(current.period, []))
                        while only_asserted and only_asserted[0] < period:
                            empty = _PeriodFile(staging, only_asserted.pop(0))
                            written.append(empty.relative)
                            openings[empty.relative] = {key: cents for key, cents in balances.items() if cents}
                            empty.finish(closed.get(empty.period), own, recorded[empty.period])
                        if only_asserted and only_asserted[0] == period:
                            only_asserted.pop(0)
                        current = _PeriodFile(staging, period)
                        written.append(current.relative)
                        openings[current.relative] = {key: cents for key, cents in balances.items() if cents}
                    chunk.append(entry_text(entry) + "\n")
                    for posting in entry.postings:
                        used.add(posting.account)
                        key = (posting.account, posting.currency)
                        balances[key] = balances.get(key, 0) + posting.cents
                    count += 1
                if current is not None:
                    current.write("".join(chunk))
            if current is not None:
                current.finish(closed.get(current.period), own, recorded.get(current.period, []))
            for period in only_asserted:
                empty = _PeriodFile(staging, period)
                written.append(empty.relative)
                openings[empty.relative] = {key: cents for key, cents in balances.items() if cents}
                empty.finish(closed.get(period), own, recorded[period])
            title = "Clearing ledger" if member is None else f"Clearing ledger: {member}"
            shown = [account for account in accounts if own is None or account.name in used]
            (staging / MAIN).write_text(main_text(title, shown, written), encoding="utf-8")
            with (staging / MAIN).open("rb") as handle:
                os.fsync(handle.fileno())
            header = main_text(title, shown, [])
            if not written:
                await asyncio.to_thread(check_file, staging / MAIN)
            for relative in written:
                day = rules.period(Path(relative).stem)[0] - dt.timedelta(days=1)
                opening = opening_text(day, Path(relative).stem, openings[relative], shown)
                await asyncio.to_thread(check_period, staging, header, relative, opening)
            for relative in written:
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / relative, target / relative)
                _fsync_dir((target / relative).parent)
            # main.beancount last: until it is replaced, the old main includes only files that still exist.
            os.replace(staging / MAIN, target / MAIN)
            _fsync_dir(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(directory=target, files=(MAIN, *written), entries=count)
