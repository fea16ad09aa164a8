"""``make bench``: the exchange's reads against a minimal Litestar endpoint, served the same way, in one run.

Then the ledger export benchmark (``bench/ledger_export.py``) and the settlement run benchmark
(``bench/settlement.py``, PostgreSQL) run in the same ``make bench``.

Each server runs in its own uvicorn process on a free local port (SQLite under a temporary folder, no Redis:
the embedded mode of ``make run``). A load of N concurrent clients runs for a fixed number of requests per
endpoint; the output is throughput, p50 and p99 for each, and the ratio to the baseline measured in the same
run, since these machines are noisy.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench import ledger_export

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(target: str, port: int, env: dict[str, str], factory: bool) -> subprocess.Popen[bytes]:
    command = [str(BIN / "uvicorn"), target, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if factory:
        command.append("--factory")
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def _wait_until_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):  # up to a minute: start-up is slow on a busy machine
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def _load(url: str | Callable[[int], str], headers: dict[str, str]) -> tuple[float, float, float]:
    """Throughput, p50 and p99 of ``REQUESTS`` GETs of ``url`` (or of ``url(n)`` for the n-th request)."""
    latencies: list[float] = []
    remaining = REQUESTS
    counter = itertools.count()

    def next_url() -> str:
        return url if isinstance(url, str) else url(next(counter))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            target = next_url()
            started = time.perf_counter()
            response = await client.get(target, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{target} answered {response.status_code}: {response.text[:200]}")

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await client.get(next_url(), headers=headers)  # warm up
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000


def _demo_token(env: dict[str, str]) -> str:
    subprocess.run([str(BIN / "marketplace"), "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [str(BIN / "marketplace"), "demo", "--no-tokens"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    created = subprocess.run(
        [str(BIN / "marketplace"), "token", "create", "--member", "HZD", "--roles", "buyer", "--name", "bench"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return created.stdout.strip().splitlines()[-1]


async def main() -> None:
    """Run the benchmark and print a table."""
    with tempfile.TemporaryDirectory(prefix="marketplace-bench-") as folder:
        env = {
            **os.environ,
            "MARKETPLACE_VAR_DIR": folder,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite",
            "RATE_LIMIT_PER_MINUTE": "100000000",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("REDIS_URL", None)
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
            cases = [
                ("baseline: minimal Litestar endpoint", f"http://127.0.0.1:{base_port}/ping", {}),
                ("GET /health (database check)", f"http://127.0.0.1:{app_port}/health", {}),
                ("GET /api/v1/me (token lookup)", f"http://127.0.0.1:{app_port}/api/v1/me", auth),
                ("GET /api/v1/members (directory)", f"http://127.0.0.1:{app_port}/api/v1/members", auth),
            ]
            results = [(name, await _load(url, headers)) for name, url, headers in cases]
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)
    baseline = results[0][1][0]
    print(f"{REQUESTS} requests per endpoint, {CONCURRENCY} concurrent clients, SQLite, no Redis, one process each")
    print(f"{'endpoint':<40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'× baseline':>11}")
    for name, (throughput, p50, p99) in results:
        print(f"{name:<40} {throughput:>9.0f} {p50:>8.1f} {p99:>8.1f} {throughput / baseline:>11.2f}")
    from bench.catalogue import run_catalogue

    await run_catalogue()
    from bench.booking import run_booking

    await run_booking()
    ledger_export.main()
    from bench import settlement

    settlement.main()


if __name__ == "__main__":
    asyncio.run(main())
