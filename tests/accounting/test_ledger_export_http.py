"""The HTTP export: one Beancount text that bean-check accepts, whole, per member and for a date range."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.accounting.builders import bean_check, journal
from tests.builders import bearer, running_app, token


async def _export(tmp_path: Path, caller: str, **params: str) -> tuple[Path, str]:
    async with running_app() as client:
        response = await client.get("/api/v1/ledger/export", params=params, headers=bearer(caller))
    assert response.status_code == 200, response.text
    path = tmp_path / "export.beancount"
    path.write_bytes(response.content)
    return path, response.text


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"member": "HZD"},
        {"member": "KDZ-MZ"},
        {"from": "2026-11-01"},
        {"to": "2026-10-31"},
        {"member": "HZD", "from": "2026-11-01", "to": "2026-11-30"},
    ],
    ids=["whole", "member HZD", "member KDZ-MZ", "from", "to", "member and range"],
)
async def test_the_http_export_passes_bean_check(tmp_path: Path, params: dict[str, str]) -> None:
    await journal()
    caller = await token("KOPIT", "coop_accountant")
    path, _ = await _export(tmp_path, caller, **params)
    result = bean_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_the_http_export_passes_bean_check_with_closed_periods_and_a_range(tmp_path: Path) -> None:
    await journal()
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        closed = await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(caller))
    assert closed.status_code == 200
    for params in ({}, {"from": "2026-10-15"}, {"from": "2026-11-01"}, {"member": "HZD", "from": "2026-10-01"}):
        path, text = await _export(tmp_path, caller, **params)
        result = bean_check(path)
        assert result.returncode == 0, (params, result.stdout + result.stderr)
        if params.get("from", "2026-10-01") <= "2026-10-31":
            assert "2026-11-01 balance Assets:Receivable:HZD  1190.00 EUR" in text


async def test_an_export_from_a_day_opens_with_the_balances_of_the_day_before(tmp_path: Path) -> None:
    entries = await journal()
    caller = await token("KOPIT", "coop_accountant")
    _, text = await _export(tmp_path, caller, **{"from": "2026-11-01"})
    assert '2026-11-01 * "Eröffnungssalden" "Salden am 2026-10-31"' in text
    assert "2026-11-01 open Equity:Opening-Balances" in text
    assert str(entries["hzd_october"].id) not in text
    assert str(entries["hzd_payment"].id) in text


async def test_the_http_export_is_plain_text_sent_as_an_attachment(tmp_path: Path) -> None:
    await journal()
    caller = await token("HZD", "accountant")
    async with running_app() as client:
        response = await client.get("/api/v1/ledger/export", headers=bearer(caller))
    assert response.headers["content-type"].startswith("text/plain")
    assert 'filename="ledger-HZD.beancount"' in response.headers["content-disposition"]
    assert response.text.startswith("; Exported from the clearing journal.")


async def test_exporting_an_empty_ledger_gives_a_valid_file(tmp_path: Path) -> None:
    caller = await token("KOPIT", "auditor")
    path, _ = await _export(tmp_path, caller)
    assert bean_check(path).returncode == 0
