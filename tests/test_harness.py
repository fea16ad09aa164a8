"""The harness itself: each test starts from an empty database."""

from __future__ import annotations

from marketplace.db import engine


async def test_each_test_starts_without_members() -> None:
    rows = await engine().run_ddl("SELECT count(*) AS n FROM members")
    assert rows[0]["n"] == 0


async def test_rows_of_one_test_do_not_reach_the_next() -> None:
    await engine().run_ddl(
        "INSERT INTO members (id, code, name, kind, state, status, version, admitted_at, updated_at) VALUES "
        "('0b8f3a52-8f53-4c1e-9b0e-3f0a1d2c4b5a', 'TEST', 'Test', 'municipality', 'DE-HE', 'active', 1, "
        "'2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
    )
    rows = await engine().run_ddl("SELECT count(*) AS n FROM members")
    assert rows[0]["n"] == 1
