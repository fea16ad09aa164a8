"""Arbitrary text in every text field of offers, members and users: control characters, NUL, lone surrogates (as
JSON escapes), very long strings, bidi overrides and RTL marks. Never a 5xx; a 2xx exactly when the rule of
docs/api.md ("Input limits") allows the text; a refusal changes nothing.

The rule is restated here from the documentation, not imported, so that the test checks the code against it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from marketplace.audit.tables import AuditEvent
from marketplace.catalogue.tables import Offer
from marketplace.members.tables import Member, User
from tests.builders import bearer, member, running_app, token
from tests.catalogue.helpers import create_offer, offer_body

#: Code points no text field accepts (docs/api.md): C0 but tab, LF, CR; DEL and C1; U+2028/2029; bidi overrides
#: and isolates; surrogates; U+FFFE/FFFF.
NEVER = frozenset(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F)]
) | frozenset([*range(0x2066, 0x206A), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF])
SEPA_NAME = re.compile(r"[A-Za-z0-9/?:().,'+ ÄÖÜäöüß-]*")


@dataclass(frozen=True)
class Rule:
    """What a field accepts: one line or several, at most ``limit`` characters, blank or not; or a SEPA name."""

    limit: int
    multiline: bool = False
    blank: bool = False
    sepa: bool = False

    def allows(self, value: str) -> bool:
        if len(value) > self.limit:
            return False
        if self.sepa:
            return SEPA_NAME.fullmatch(value) is not None
        if any(ord(character) in NEVER for character in value):
            return False
        if not self.multiline and ("\n" in value or "\r" in value):
            return False
        return self.blank or bool(value.strip())


OFFER_FIELDS = {
    "title": Rule(200),
    "description": Rule(10_000, multiline=True),
    "unit": Rule(60),
    "sla": Rule(4000, multiline=True, blank=True),
}
MEMBER_FIELDS = {"name": Rule(200), "account_holder": Rule(70, sepa=True)}
USER_FIELDS = {"name": Rule(200)}

SPECIAL = [
    *"\x00\x01\x07\t\n\r\x0b\x0c\x1b\x1f\x7f\x80\x85\x9f",
    *"\u00a0\u200b\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    *"\ud800\udbff\udc00\udfff\ufeff\ufffe\uffff",
    *"aZ09 ./-?:(),'+äöüÄÖÜßé€😀",
]
TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(SPECIAL) | st.text(max_size=3), max_size=12).map("".join),
    st.builds(
        lambda piece, count: piece * count, st.sampled_from(["a", "ä", " ", "\n", "😀", "\x00"]), st.integers(0, 11_000)
    ),
)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
_unique = itertools.count()


@dataclass
class Exchange:
    client: httpx.AsyncClient
    admin: str
    provider: str
    draft: str


@pytest.fixture
async def exchange() -> AsyncIterator[Exchange]:
    """One running app for all examples of a test. Its lifespan runs in a task of its own: pytest-asyncio sets a
    fixture up and tears it down in different tasks, and the lifespan must end in the task it began in."""
    await member("KOPIT")
    await member("HZD", account_holder="Hessische Zentrale")
    admin = await token("KOPIT", "coop_admin")
    provider = await token("KDZ-MZ", "provider")
    started: asyncio.Future[httpx.AsyncClient] = asyncio.get_running_loop().create_future()
    finished = asyncio.Event()

    async def serve() -> None:
        async with running_app() as client:
            started.set_result(client)
            await finished.wait()

    server = asyncio.create_task(serve())
    client = await started
    draft = (await create_offer(client, provider))["id"]
    yield Exchange(client, admin, provider, draft)
    finished.set()
    await server


async def _snapshot() -> list[Any]:
    return [
        await AuditEvent.count(),
        await Offer.select().order_by(Offer.id),
        await Member.select().order_by(Member.code),
        await User.select().order_by(User.email),
    ]


async def _send(
    exchange: Exchange, method: str, path: str, caller: str, body: dict[str, Any], rule: Rule, value: str
) -> None:
    before = await _snapshot()
    # ensure_ascii: a lone surrogate travels as the escape \ud800, as a client's JSON library would send it.
    content = json.dumps(body, ensure_ascii=True).encode()
    response = await exchange.client.request(
        method, path, headers={**bearer(caller), "content-type": "application/json"}, content=content
    )
    assert response.status_code < 500, response.text
    event(f"answered {response.status_code}")
    if rule.allows(value):
        assert 200 <= response.status_code < 300, (value, response.text)
    else:
        assert 400 <= response.status_code < 500, (value, response.text)
        assert await _snapshot() == before


@SETTINGS
@given(field=st.sampled_from(sorted(OFFER_FIELDS)), value=TEXT)
async def test_offer_creation_accepts_exactly_the_text_the_rule_allows(
    exchange: Exchange, field: str, value: str
) -> None:
    rule = OFFER_FIELDS[field]
    await _send(exchange, "POST", "/api/v1/offers", exchange.provider, offer_body(**{field: value}), rule, value)


@SETTINGS
@given(field=st.sampled_from(sorted(OFFER_FIELDS)), value=TEXT)
async def test_offer_updates_accept_exactly_the_text_the_rule_allows(
    exchange: Exchange, field: str, value: str
) -> None:
    rule = OFFER_FIELDS[field]
    await _send(exchange, "PATCH", f"/api/v1/offers/{exchange.draft}", exchange.provider, {field: value}, rule, value)


@SETTINGS
@given(field=st.sampled_from(sorted(MEMBER_FIELDS)), value=TEXT)
async def test_admission_accepts_exactly_the_text_the_rule_allows(exchange: Exchange, field: str, value: str) -> None:
    body = {"code": f"F{next(_unique)}", "name": "Fuzz", "kind": "municipality", "state": "DE-HE", field: value}
    await _send(exchange, "POST", "/api/v1/members", exchange.admin, body, MEMBER_FIELDS[field], value)


@SETTINGS
@given(field=st.sampled_from(sorted(MEMBER_FIELDS)), value=TEXT)
async def test_profile_updates_accept_exactly_the_text_the_rule_allows(
    exchange: Exchange, field: str, value: str
) -> None:
    await _send(exchange, "PATCH", "/api/v1/members/HZD", exchange.admin, {field: value}, MEMBER_FIELDS[field], value)


@SETTINGS
@given(value=TEXT)
async def test_new_users_accept_exactly_the_names_the_rule_allows(exchange: Exchange, value: str) -> None:
    body = {"email": f"fuzz{next(_unique)}@hzd.example", "name": value, "roles": ["buyer"]}
    await _send(exchange, "POST", "/api/v1/members/HZD/users", exchange.admin, body, USER_FIELDS["name"], value)
