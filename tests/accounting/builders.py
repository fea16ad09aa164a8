"""Builders for the accounting tests: a small journal booked through the admission and the ledger library."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import ledger
from marketplace.clock import now
from tests.builders import member
from tests.ledger.builders import payment, settlement

OCT_31 = dt.date(2026, 10, 31)
NOV_30 = dt.date(2026, 11, 30)
BEAN_CHECK = Path(sys.executable).parent / "bean-check"
MEMBERS = ("KOPIT", "HZD", "KDZ-MZ", "EKOM21")


def current_period() -> str:
    """The month that has not ended yet."""
    return now().date().strftime("%Y-%m")


async def journal() -> dict[str, ledger.Entry]:
    """Four admitted members; HZD and EKOM21 consume from KDZ-MZ in October and November, HZD pays."""
    for code in MEMBERS:
        await member(code)
    return {
        "hzd_october": await settlement("HZD", "KDZ-MZ", "1190.00", date=OCT_31, number="S-2026-000041"),
        "ekom21_november": await settlement("EKOM21", "KDZ-MZ", "238.00", date=NOV_30, number="S-2026-000043"),
        "hzd_payment": await payment("HZD", "1190.00", date=NOV_30, link="S-2026-000041"),
    }


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    """Run the virtualenv's ``bean-check`` on ``path``."""
    return subprocess.run(  # noqa: S603 - our own virtualenv's bean-check on a file we wrote
        [str(BEAN_CHECK), str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "BEANCOUNT_DISABLE_LOAD_CACHE": "1"},
        check=False,
    )
