"""The baseline: the smallest Litestar app, served the same way as the exchange."""

from __future__ import annotations

from litestar import Litestar, get


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    """A constant answer."""
    return {"status": "ok"}


app = Litestar(route_handlers=[ping])
