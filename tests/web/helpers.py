"""Builders for web tests: users with passwords, a browser-like client, the CSRF token of a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from marketplace.app import create_app
from marketplace.auth import Role
from marketplace.members import passwords, services
from tests.builders import SYSTEM, member, settings

PASSWORD = "Richtig-Geheim-2026"
_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


async def web_user(member_code: str, *roles: Role | str, email: str | None = None, password: str = PASSWORD) -> str:
    """A user of ``member_code`` (admitted if needed) with ``roles`` and a password; its e-mail address."""
    if not await services.Member.exists().where(services.Member.code == member_code):
        await member(member_code)
    wanted = frozenset(Role(role) for role in roles) or frozenset({Role.buyer})
    user = await services.ensure_user(member_code, wanted, SYSTEM, email=email)
    await passwords.set_password(user["id"], password, SYSTEM)
    return str(user["email"])


@asynccontextmanager
async def web_client(base_url: str = "https://kopit.test", **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a running app that keeps cookies like a browser (https, so that Secure cookies return)."""
    app = create_app(settings(**overrides))
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@asynccontextmanager
async def two_browsers(
    base_url: str = "https://kopit.test",
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two clients with separate cookies talking to the same running app."""
    app = create_app(settings())
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url=base_url) as first,
            httpx.AsyncClient(transport=transport, base_url=base_url) as second,
        ):
            yield first, second


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def csrf(client: httpx.AsyncClient, path: str = "/anmelden") -> str:
    """Open ``path`` and answer the CSRF token of its forms."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """Submit the sign-in form as a browser does."""
    token = await csrf(client)
    return await client.post(
        "/anmelden", data={"_csrf": token, "email": email, "password": password, "weiter": "/katalog"}
    )


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None, page: str = "/katalog"
) -> httpx.Response:
    """Submit a form with the session's CSRF token (read from ``page``)."""
    token = await csrf(client, page)
    return await client.post(path, data={"_csrf": token, **(data or {})})
