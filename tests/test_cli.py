"""The ``marketplace`` command: clear errors, non-zero exits, and a token alone on the last line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from piccolo.engine.sqlite import SQLiteEngine

from marketplace.db import engine
from tests.builders import bearer, member, running_app
from tests.conftest import TEST_DATABASE_URL

CLI = str(Path(sys.executable).parent / "marketplace")


def _database_url() -> str:
    db = engine()
    return f"sqlite:///{db.path}" if isinstance(db, SQLiteEngine) else TEST_DATABASE_URL


async def run_cli(*args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": _database_url()}
    process = await asyncio.create_subprocess_exec(
        CLI, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    return process.returncode or 0, stdout.decode(), stderr.decode()


async def test_token_create_prints_a_working_token_on_the_last_line() -> None:
    await member("HZD")
    code, stdout, _ = await run_cli("token", "create", "--member", "HZD", "--roles", "buyer,accountant")
    assert code == 0
    token = stdout.strip().splitlines()[-1]
    async with running_app() as client:
        response = await client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["roles"] == ["accountant", "buyer"]


async def test_token_create_reuses_the_user_with_the_same_roles() -> None:
    await member("HZD")
    tokens = []
    for _ in range(2):
        _, stdout, _ = await run_cli("token", "create", "--member", "HZD", "--roles", "buyer")
        tokens.append(stdout.strip().splitlines()[-1])
    async with running_app() as client:
        users = {(await client.get("/api/v1/me", headers=bearer(t))).json()["user"]["id"] for t in tokens}
    assert len(users) == 1


async def test_token_create_for_an_unknown_member_fails_clearly() -> None:
    code, _, stderr = await run_cli("token", "create", "--member", "NOPE", "--roles", "buyer")
    assert code != 0
    assert "NOPE" in stderr
    assert "Traceback" not in stderr


async def test_an_unknown_role_is_refused_with_exit_code_2() -> None:
    await member("HZD")
    code, _, stderr = await run_cli("token", "create", "--member", "HZD", "--roles", "king")
    assert code == 2
    assert "unknown role" in stderr


async def test_member_add_refuses_an_invalid_leitweg_id() -> None:
    code, _, stderr = await run_cli(
        "member", "add", "--code", "LHW", "--name", "Wiesbaden", "--kind", "municipality", "--state", "DE-HE",
        "--leitweg-id", "04011000-1234512345-07",
    )  # fmt: skip
    assert code == 1
    assert "check digits" in stderr


async def test_demo_is_idempotent_and_prints_a_token_per_role() -> None:
    first_code, first, _ = await run_cli("demo")
    second_code, second, _ = await run_cli("demo")
    assert (first_code, second_code) == (0, 0)
    assert "5 members admitted" in first
    assert "0 members admitted" in second
    assert second.count("mkp_") >= 7
