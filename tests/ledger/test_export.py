"""Export: Beancount files that bean-check accepts, byte-identical for one journal, whole or by member."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import ledger
import ledger.journal
from tests.ledger.builders import NOV_30, open_cooperative, payment, settlement
from tests.ledger.tamper import tamper

FIXTURES = Path(__file__).parent / "fixtures"
BEAN_CHECK = Path(sys.executable).parent / "bean-check"


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entry ids and creation times from counters, so that snapshots do not depend on the run."""
    ids = (uuid.UUID(int=n) for n in itertools.count(1))
    times = (dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n) for n in itertools.count())
    monkeypatch.setattr(ledger.journal, "_new_id", lambda: next(ids))
    monkeypatch.setattr(ledger.journal, "_now", lambda: next(times))


async def _journal() -> None:
    """Three members over three months: settlements, a payment, a reversal, November closed."""
    await open_cooperative("HZD", "KDZ-MZ", "EKOM21", opened_on=dt.date(2026, 10, 1))
    await settlement("HZD", "KDZ-MZ", "1190.00", date=dt.date(2026, 10, 31), number="S-2026-000041")
    await settlement("HZD", "KDZ-MZ", "1190.00", date=NOV_30, number="S-2026-000042")
    wrong = await settlement("EKOM21", "KDZ-MZ", "238.00", date=NOV_30, number="S-2026-000043")
    await payment("HZD", "1190.00", date=NOV_30, link="S-2026-000041")
    await ledger.close_period("2026-11", actor="user:carol")
    await ledger.reverse(wrong.id, reason="Storno: falscher Monat", actor="user:bob", date=dt.date(2026, 12, 2))


def _files(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*.beancount"))}


def _assert_snapshot(directory: Path, name: str) -> None:
    expected_dir = FIXTURES / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        for relative, data in _files(directory).items():
            (expected_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / relative).write_bytes(data)
    assert _files(directory) == _files(expected_dir)


def _bean_check(main: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own virtualenv's bean-check on a file we wrote
        [str(BEAN_CHECK), str(main)],
        capture_output=True,
        text=True,
        env={**os.environ, "BEANCOUNT_DISABLE_LOAD_CACHE": "1"},
        check=False,
    )


@pytest.mark.usefixtures("pinned")
async def test_export_matches_the_snapshot_byte_for_byte(tmp_path: Path) -> None:
    await _journal()
    result = await ledger.export(tmp_path)
    assert result.files == (
        "main.beancount",
        "2026/2026-10.beancount",
        "2026/2026-11.beancount",
        "2026/2026-12.beancount",
    )
    assert result.entries == 5
    _assert_snapshot(tmp_path, "whole")


@pytest.mark.usefixtures("pinned")
async def test_member_export_holds_its_entries_with_their_counter_postings(tmp_path: Path) -> None:
    await _journal()
    result = await ledger.export(tmp_path, member="HZD")
    assert result.entries == 3
    _assert_snapshot(tmp_path, "member-HZD")


async def test_bean_check_accepts_every_export(tmp_path: Path) -> None:
    await _journal()
    for member in (None, "HZD", "KDZ-MZ", "EKOM21"):
        directory = tmp_path / (member or "all")
        await ledger.export(directory, member=member)
        checked = _bean_check(directory / "main.beancount")
        assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_export_twice_gives_byte_identical_files(tmp_path: Path) -> None:
    await _journal()
    await ledger.export(tmp_path / "first")
    await ledger.export(tmp_path / "second")
    assert _files(tmp_path / "first") == _files(tmp_path / "second")


async def test_export_in_small_batches_equals_export_in_one(tmp_path: Path) -> None:
    await _journal()
    await ledger.export(tmp_path / "small", batch_size=2)
    await ledger.export(tmp_path / "large")
    assert _files(tmp_path / "small") == _files(tmp_path / "large")


async def test_concurrent_exports_write_one_at_a_time(tmp_path: Path) -> None:
    await _journal()
    await asyncio.gather(*(ledger.export(tmp_path) for _ in range(3)))
    assert _bean_check(tmp_path / "main.beancount").returncode == 0
    assert list(tmp_path.glob(".staging*")) == []


async def test_export_refuses_a_tampered_closed_period_and_keeps_the_old_files(tmp_path: Path) -> None:
    await _journal()
    await ledger.export(tmp_path)
    before = _files(tmp_path)
    await tamper("ledger_entries", "UPDATE ledger_entries SET narration = 'changed' WHERE number = 2")
    with pytest.raises(ledger.ExportError, match="2026-11"):
        await ledger.export(tmp_path)
    assert _files(tmp_path) == before


async def test_export_of_an_empty_journal_is_valid(tmp_path: Path) -> None:
    await open_cooperative()
    result = await ledger.export(tmp_path)
    assert result.files == ("main.beancount",)
    assert _bean_check(tmp_path / "main.beancount").returncode == 0
