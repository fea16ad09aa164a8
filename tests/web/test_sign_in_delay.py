"""Failed sign-ins make the next attempt wait, per account and per client address; nothing locks an account."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from marketplace import maintenance
from marketplace.app import create_app
from marketplace.audit.tables import AuditEvent
from marketplace.clock import now
from marketplace.errors import Unauthorized
from marketplace.members import passwords
from marketplace.members.tables import SignInDelay
from tests.builders import settings
from tests.web.helpers import PASSWORD, sign_in, web_user

WRONG = "Falsches-Passwort-1"
OFFICE = "192.0.2.10"


class Clock:
    """The time as the sign-in service sees it: standing still unless the test moves it on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.moment = now()
        monkeypatch.setattr(passwords, "now", lambda: self.moment)

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A slow machine must not let a wait run out between two attempts of a test."""
    return Clock(monkeypatch)


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every scrypt computation from now on appends to the list."""
    calls: list[int] = []
    real: Callable[..., bytes] = hashlib.scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


@asynccontextmanager
async def exchange(**overrides: Any) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """A running app, and browsers on it from a client address of the caller's choice."""
    app = create_app(settings(**overrides))
    async with app.lifespan():
        clients: list[httpx.AsyncClient] = []

        def browser(address: str = OFFICE) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 50000))
            client = httpx.AsyncClient(transport=transport, base_url="https://kopit.test")
            clients.append(client)
            return client

        try:
            yield browser
        finally:
            for client in clients:
                await client.aclose()


async def test_three_failed_sign_ins_make_the_next_attempt_wait_a_second() -> None:
    email = await web_user("HZD", "buyer")
    async with exchange() as browser:
        client = browser()
        assert [(await sign_in(client, email, WRONG)).status_code for _ in range(3)] == [400, 400, 400]
        refused = await sign_in(client, email)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert "Zu viele Fehlversuche. Bitte versuchen Sie es in einer Sekunde erneut." in refused.text
    assert "gesperrt" not in refused.text


async def test_each_further_failure_doubles_the_wait(clock: Clock) -> None:
    email = await web_user("HZD", "buyer")
    async with exchange() as browser:
        client = browser()
        for _ in range(3):
            await sign_in(client, email, WRONG)
        clock.advance(1)
        assert (await sign_in(client, email, WRONG)).status_code == 400
        refused = await sign_in(client, email)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"
        assert "in 2 Sekunden erneut" in refused.text
        clock.advance(2)
        assert (await sign_in(client, email, WRONG)).status_code == 400
        assert (await sign_in(client, email)).headers["retry-after"] == "4"


def test_the_wait_grows_from_one_second_to_at_most_fifteen_minutes() -> None:
    waits = [passwords.delay_after(failures, free=3).total_seconds() for failures in range(1, 16)]
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert passwords.delay_after(10_000, free=3) == timedelta(minutes=15)


async def test_during_the_wait_even_the_right_password_is_refused_without_being_checked(
    clock: Clock, scrypt_calls: list[int]
) -> None:
    email = await web_user("HZD", "buyer")
    async with exchange() as browser:
        client = browser()
        for _ in range(3):
            await sign_in(client, email, WRONG)
        scrypt_calls.clear()
        assert (await sign_in(client, email)).status_code == 429
        assert scrypt_calls == []
        clock.advance(1)
        assert (await sign_in(client, email)).status_code == 303
        assert scrypt_calls == [1]


async def test_a_successful_sign_in_starts_the_count_of_the_account_again(clock: Clock) -> None:
    email = await web_user("HZD", "buyer")
    async with exchange() as browser:
        client = browser()
        for _ in range(3):
            await sign_in(client, email, WRONG)
        clock.advance(1)
        assert (await sign_in(client, email)).status_code == 303
        assert not await SignInDelay.exists().where(SignInDelay.subject == passwords.account_subject(email))
        again = browser()
        answers = [(await sign_in(again, email, WRONG)).status_code for _ in range(4)]
    assert answers == [400, 400, 400, 429]


async def test_an_unknown_address_is_answered_like_a_known_one_with_the_same_hash_work(
    scrypt_calls: list[int],
) -> None:
    known = await web_user("HZD", "buyer")
    scrypt_calls.clear()
    answers: dict[str, list[tuple[int, str, int]]] = {}
    async with exchange() as browser:
        # Each from its own address, so that only the account's count differs, if anything does.
        for email, address in ((known, "192.0.2.1"), ("niemand@hzd.example", "192.0.2.2")):
            client = browser(address)
            answers[email] = []
            for _ in range(4):
                before = len(scrypt_calls)
                response = await sign_in(client, email, WRONG)
                message = response.text.split('role="alert"', 1)[-1].split("</div>", 1)[0]
                answers[email].append((response.status_code, message, len(scrypt_calls) - before))
    assert answers[known] == answers["niemand@hzd.example"]
    assert [(status, hashes) for status, _, hashes in answers[known]] == [(400, 1), (400, 1), (400, 1), (429, 0)]


async def test_one_client_address_waits_after_ten_failures_whichever_accounts_it_tries() -> None:
    email = await web_user("HZD", "buyer")
    async with exchange() as browser:
        guesser = browser(OFFICE)
        for number in range(10):
            assert (await sign_in(guesser, f"raten{number}@hzd.example", WRONG)).status_code == 400
        refused = await sign_in(guesser, email)
        elsewhere = await sign_in(browser("198.51.100.7"), email)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert elsewhere.status_code == 303


async def test_a_success_from_an_address_does_not_clear_its_wait(clock: Clock) -> None:
    own = await web_user("HZD", "buyer", email="eigen@hzd.example")
    async with exchange() as browser:
        guesser = browser(OFFICE)
        for number in range(10):
            await sign_in(guesser, f"raten{number}@hzd.example", WRONG)
        clock.advance(1)
        assert (await sign_in(browser(OFFICE), own)).status_code == 303
        assert (await sign_in(guesser, "raten10@hzd.example", WRONG)).status_code == 400
        # The count stays at ten failures plus this one: the wait after it is two seconds, not none.
        assert (await sign_in(guesser, "raten11@hzd.example", WRONG)).headers["retry-after"] == "2"


def test_an_ipv6_client_is_counted_by_its_64_prefix() -> None:
    subject = passwords.address_subject
    assert subject("2001:db8:1:2::5") == subject("2001:db8:1:2:ffff:ffff:ffff:1") == "address:2001:db8:1:2::/64"
    assert subject("2001:db8:1:3::5") != subject("2001:db8:1:2::5")
    assert subject("::ffff:192.0.2.1") == subject("192.0.2.1") == "address:192.0.2.1"
    assert subject("testclient") == "address:unknown"


async def test_the_wait_holds_in_every_process_without_redis() -> None:
    email = await web_user("HZD", "buyer")
    async with exchange(redis_url="redis://127.0.0.1:1/0") as first:
        for _ in range(3):
            await sign_in(first(), email, WRONG)
    # Another process, which never saw the failures, from another address: the database has the account's count.
    async with exchange(redis_url="redis://127.0.0.1:1/0") as second:
        refused = await sign_in(second("198.51.100.7"), email)
    assert refused.status_code == 429


async def test_parallel_attempts_cannot_slip_past_the_wait_together(scrypt_calls: list[int]) -> None:
    email = await web_user("HZD", "buyer")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await passwords.sign_in(email, WRONG, OFFICE)
    scrypt_calls.clear()
    outcomes = await asyncio.gather(
        *(passwords.sign_in(email, WRONG, OFFICE) for _ in range(5)), return_exceptions=True
    )
    kinds = sorted(type(outcome).__name__ for outcome in outcomes)
    # The third failure is counted before its password is checked: the other four wait unchecked.
    assert kinds == ["SignInDelayed"] * 4 + ["Unauthorized"]
    assert scrypt_calls == [1]


async def test_the_start_of_a_wait_is_audited_once_and_nothing_is_locked(clock: Clock) -> None:
    email = await web_user("HZD", "buyer")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            await passwords.sign_in(email, WRONG, OFFICE)
    clock.advance(1)
    with pytest.raises(Unauthorized):
        await passwords.sign_in(email, WRONG, OFFICE)
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.reason, AuditEvent.after).where(
        AuditEvent.action.like("user.%")
    )
    actions = [event["action"] for event in events]
    assert actions.count("user.sign_in_delayed") == 1
    assert "user.locked" not in actions
    delayed = next(event for event in events if event["action"] == "user.sign_in_delayed")
    assert delayed["reason"] == "3 failed sign-ins in a row"
    assert OFFICE in delayed["after"]


async def test_maintenance_forgets_the_counts_a_day_after_the_last_attempt(clock: Clock) -> None:
    email = await web_user("HZD", "buyer")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            await passwords.sign_in(email, WRONG, OFFICE)
    await maintenance.run_once()
    assert await SignInDelay.count() == 2
    clock.advance(timedelta(hours=24, seconds=1).total_seconds())
    await maintenance.run_once()
    assert await SignInDelay.count() == 0
    assert (await passwords.sign_in(email, PASSWORD, OFFICE))[0] is not None


async def test_a_new_password_starts_the_count_of_the_account_again() -> None:
    email = await web_user("HZD", "buyer")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            await passwords.sign_in(email, WRONG, OFFICE)
    await web_user("HZD", "buyer", email=email, password="Ganz-Neues-Passwort-1")
    assert (await passwords.sign_in(email, "Ganz-Neues-Passwort-1", "198.51.100.7"))[0] is not None
