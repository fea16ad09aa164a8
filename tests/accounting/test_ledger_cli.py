"""``marketplace ledger export|check|verify|close`` as an operator runs them: clear output, non-zero on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

import ledger
from tests.accounting.builders import bean_check, current_period, journal
from tests.ledger.tamper import tamper
from tests.test_cli import run_cli


async def test_ledger_export_writes_main_and_period_files_that_bean_check_accepts(tmp_path: Path) -> None:
    await journal()
    code, stdout, stderr = await run_cli("ledger", "export", "--dir", str(tmp_path))
    assert code == 0, stderr
    assert "wrote 3 entries" in stdout
    assert (tmp_path / "2026" / "2026-10.beancount").is_file()
    assert (tmp_path / "2026" / "2026-11.beancount").is_file()
    assert bean_check(tmp_path / "main.beancount").returncode == 0


async def test_ledger_export_defaults_to_the_ledger_dir_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await journal()
    monkeypatch.setenv("LEDGER_DIR", str(tmp_path / "configured"))
    code, _, stderr = await run_cli("ledger", "export")
    assert code == 0, stderr
    assert (tmp_path / "configured" / "main.beancount").is_file()


async def test_ledger_export_of_a_member_holds_only_its_part(tmp_path: Path) -> None:
    entries = await journal()
    code, stdout, stderr = await run_cli("ledger", "export", "--member", "EKOM21", "--dir", str(tmp_path))
    assert code == 0, stderr
    assert "wrote 1 entries" in stdout
    text = "".join(path.read_text() for path in sorted(tmp_path.rglob("*.beancount")))
    assert str(entries["ekom21_november"].id) in text
    assert str(entries["hzd_october"].id) not in text


async def test_ledger_export_of_an_unknown_member_fails_clearly(tmp_path: Path) -> None:
    await journal()
    code, _, stderr = await run_cli("ledger", "export", "--member", "NOPE", "--dir", str(tmp_path))
    assert code == 1
    assert "NOPE" in stderr
    assert "Traceback" not in stderr


async def test_ledger_check_accepts_a_fresh_export(tmp_path: Path) -> None:
    await journal()
    await run_cli("ledger", "export", "--dir", str(tmp_path))
    code, stdout, stderr = await run_cli("ledger", "check", "--dir", str(tmp_path))
    assert code == 0, stderr
    assert stdout.startswith("ok:")


async def test_ledger_check_exits_1_with_beancounts_errors(tmp_path: Path) -> None:
    await journal()
    await run_cli("ledger", "export", "--dir", str(tmp_path))
    october = tmp_path / "2026" / "2026-10.beancount"
    october.write_text(october.read_text().replace("1190.00 EUR", "1190.01 EUR", 1))
    code, _, stderr = await run_cli("ledger", "check", "--dir", str(tmp_path))
    assert code == 1
    assert "does not balance" in stderr or "Transaction" in stderr
    assert "Traceback" not in stderr


async def test_ledger_check_of_a_folder_without_export_fails_clearly(tmp_path: Path) -> None:
    code, _, stderr = await run_cli("ledger", "check", "--dir", str(tmp_path / "nothing"))
    assert code == 1
    assert "ledger export" in stderr


async def test_ledger_verify_prints_ok_for_an_untouched_journal() -> None:
    await journal()
    code, stdout, _ = await run_cli("ledger", "verify")
    assert code == 0
    assert stdout.startswith("ok: 3 entries")


async def test_ledger_verify_exits_1_and_names_the_first_break() -> None:
    entries = await journal()
    target = entries["hzd_payment"]
    await tamper("ledger_entries", f"UPDATE ledger_entries SET narration = 'harmless' WHERE id = '{target.id}'")
    code, _, stderr = await run_cli("ledger", "verify")
    assert code == 1
    assert f"entry {target.number} has been altered" in stderr


async def test_ledger_close_closes_an_ended_month() -> None:
    await journal()
    code, stdout, stderr = await run_cli("ledger", "close", "--period", "2026-10")
    assert code == 0, stderr
    assert "period 2026-10 is closed: 1 entries" in stdout
    closed = await ledger.get_closed_period("2026-10")
    assert closed is not None
    assert closed.closed_by.startswith("cli:")


async def test_ledger_close_refuses_a_month_that_has_not_ended() -> None:
    await journal()
    code, _, stderr = await run_cli("ledger", "close", "--period", current_period())
    assert code == 1
    assert "has not ended" in stderr


async def test_ledger_close_refuses_a_malformed_period_with_exit_code_2() -> None:
    code, _, stderr = await run_cli("ledger", "close", "--period", "2026-13")
    assert code == 2
    assert "YYYY-MM" in stderr
