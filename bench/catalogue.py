"""The catalogue under load: list and search, against the minimal Litestar endpoint measured in the same run.

Served as ``make run`` serves it (uvicorn, one process, SQLite, no Redis: the cache is the process's memory),
with the demonstration catalogue (20 published offers). Then, if PostgreSQL answers at ``BENCH_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``), the uncached search against a throwaway database
``bench_catalogue`` that is created and dropped here: every request asks a different ``max_price``, so that
each one misses the cache and runs the full-text query.

Run alone with ``python -m bench.catalogue``; ``make bench`` runs it after the other endpoints.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from collections.abc import Callable

from bench.postgres import POSTGRES_URL, throwaway_database
from bench.run import CONCURRENCY, REQUESTS, _demo_token, _free_port, _load, _serve, _wait_until_up

BENCH_DATABASE = "bench_catalogue"
TARGETS = {"cached list": 0.5, "uncached search (PostgreSQL)": 0.2}

Result = tuple[float, float, float]


def _env(folder: str, database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MARKETPLACE_VAR_DIR": folder,
        "DATABASE_URL": database_url,
        "RATE_LIMIT_PER_MINUTE": "100000000",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    return env


async def _measure(
    env: dict[str, str], cases: list[tuple[str, str | Callable[[int], str]]]
) -> list[tuple[str, Result]]:
    """Serve the app with ``env`` and the baseline, and load the baseline and each case in turn."""
    token = _demo_token(env)
    base_port, app_port = _free_port(), _free_port()
    servers = [
        _serve("bench.minimal_app:app", base_port, env, factory=False),
        _serve("marketplace.app:create_app", app_port, env, factory=True),
    ]
    try:
        await _wait_until_up(f"http://127.0.0.1:{base_port}/ping")
        await _wait_until_up(f"http://127.0.0.1:{app_port}/health")
        auth = {"Authorization": f"Bearer {token}"}
        results = [("baseline: minimal Litestar endpoint", await _load(f"http://127.0.0.1:{base_port}/ping", {}))]
        for name, path in cases:
            url: str | Callable[[int], str]
            if isinstance(path, str):
                url = f"http://127.0.0.1:{app_port}{path}"
            else:
                url = (lambda make: lambda n: f"http://127.0.0.1:{app_port}{make(n)}")(path)
            results.append((name, await _load(url, auth)))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    return results


def _print(title: str, results: list[tuple[str, Result]]) -> None:
    baseline = results[0][1][0]
    print(f"\n{title}")
    print(f"{'endpoint':<52} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'× baseline':>11}")
    for name, (throughput, p50, p99) in results:
        ratio = throughput / baseline
        target = next((f"  (target ≥ {value})" for key, value in TARGETS.items() if name.startswith(key)), "")
        print(f"{name:<52} {throughput:>9.0f} {p50:>8.1f} {p99:>8.1f} {ratio:>11.2f}{target}")


async def run_catalogue() -> None:
    """Measure and print the catalogue's figures."""
    search = "/api/v1/offers?q=Rechenzentrum&limit=20"
    with tempfile.TemporaryDirectory(prefix="marketplace-bench-catalogue-") as folder:
        env = _env(folder, f"sqlite:///{folder}/bench.sqlite")
        sqlite_results = await _measure(
            env,
            [
                ("cached list: GET /offers?limit=20", "/api/v1/offers?limit=20"),
                ("cached search: GET /offers?q=Rechenzentrum", search),
                ("uncached search (SQLite): distinct max_price", lambda n: f"{search}&max_price={1_000_000 + n}"),
            ],
        )
    print(f"\nCatalogue: {REQUESTS} requests per endpoint, {CONCURRENCY} concurrent clients, one process each")
    _print("SQLite, no Redis (the embedded mode of make run), 20 published offers", sqlite_results)
    async with throwaway_database(BENCH_DATABASE) as database_url:
        if database_url is None:
            print(f"\nPostgreSQL at {POSTGRES_URL} does not answer: uncached search on PostgreSQL SKIPPED")
            return
        with tempfile.TemporaryDirectory(prefix="marketplace-bench-catalogue-") as folder:
            postgres_results = await _measure(
                _env(folder, database_url),
                [
                    ("cached list (PostgreSQL): GET /offers?limit=20", "/api/v1/offers?limit=20"),
                    (
                        "uncached search (PostgreSQL): distinct max_price",
                        lambda n: f"{search}&max_price={2_000_000 + n}",
                    ),
                ],
            )
    _print(f"PostgreSQL (database {BENCH_DATABASE}, created and dropped), no Redis", postgres_results)


if __name__ == "__main__":
    try:
        asyncio.run(run_catalogue())
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"{exc.cmd} failed: {exc.stderr}") from exc
