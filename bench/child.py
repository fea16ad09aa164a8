"""Measuring in a child process, so that peak memory and imports belong to one step alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_child(module: str, env: dict[str, str], mode: str, argument: str) -> dict[str, Any]:
    """Run ``python -m module mode argument``; the JSON object it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", module, mode, argument],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
