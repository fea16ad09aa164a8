"""Periodic upkeep of one process: expiring requests and agreements, forgetting old idempotency keys, signed-out
sessions and quiet sign-in counts.

Every step is idempotent and guarded by the database, so any number of processes may run it at once.
"""

from __future__ import annotations

from marketplace.background import PeriodicJob
from marketplace.booking.services import expire_due_requests, expire_ended_agreements
from marketplace.idempotency.services import purge_expired
from marketplace.members.passwords import purge_ended_web_sessions, purge_sign_in_delays


async def run_once() -> None:
    """One round of upkeep."""
    await expire_due_requests()
    await expire_ended_agreements()
    await purge_expired()
    await purge_ended_web_sessions()
    await purge_sign_in_delays()


def maintenance(interval: float = 60.0) -> PeriodicJob:
    """The background job that runs ``run_once`` every ``interval`` seconds."""
    return PeriodicJob("maintenance", run_once, interval)
