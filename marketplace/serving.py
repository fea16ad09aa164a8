"""How ``marketplace serve`` runs uvicorn: a bounded graceful shutdown that ends event streams, and a header timeout.

- **Shutdown**: on SIGTERM or SIGINT uvicorn stops accepting connections and waits for the open ones to finish.
  An event stream never finishes by itself, so the application chains a handler in front of uvicorn's that first
  tells every stream of the process to end (each sends a final comment and closes, see ``events.hub``); uvicorn
  waits at most ``SHUTDOWN_TIMEOUT_SECONDS`` before it cancels what is left. Then the application's own shutdown
  runs (background jobs, pool).
- **Slow clients**: uvicorn closes an idle keep-alive connection after ``timeout_keep_alive`` but has no limit on
  how long a client may take to send a request's headers, so a client that trickles them one byte at a time keeps
  a connection (and its memory) for ever. The protocol below closes a connection whose request line and headers
  are not complete ``HEADER_TIMEOUT_SECONDS`` after the connection opened or the request began. Behind a reverse
  proxy set its own limits too (nginx: ``client_header_timeout``, ``client_body_timeout``, ``keepalive_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from marketplace.config import Settings, load_settings
from marketplace.events.hub import EventHub

#: Seconds an idle keep-alive connection stays open (uvicorn's default is 5).
KEEP_ALIVE_SECONDS = 5
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@functools.cache
def _header_timeout() -> float:
    return load_settings().header_timeout_seconds


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose request headers do not arrive in time."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        """A request begins: its headers must be complete in time."""
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        """The headers are here: the rest is the application's (and the body's) business."""
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the clock."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(_header_timeout(), self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.logger.info("Closing a connection whose request headers took longer than %s s.", _header_timeout())
            self.transport.close()


@contextlib.contextmanager
def streams_end_on_stop_signal(hub: EventHub) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT first end the hub's streams, then do what they did before.

    The server (uvicorn, in every worker process) installs its own handlers before the application starts; this
    chains in front of them, so any server that stops on these signals ends the streams at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (an app served from another thread, as in some tests)
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {int(sig): signal.getsignal(sig) for sig in _STOP_SIGNALS}

    def on_signal(sig: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(hub.close)  # in the loop, not inside the signal handler
        handler = previous[sig]
        if callable(handler):
            handler(sig, frame)
        elif handler == signal.SIG_IGN:
            return
        elif sig == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(128 + sig)

    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, on_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if signal.getsignal(number) is on_signal:
                signal.signal(number, handler)


def server_options(settings: Settings, *, host: str, port: int, workers: int) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` for ``marketplace serve``."""
    return {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "proxy_headers": True,
        "access_log": False,
        "log_level": "warning",
        "http": HeaderTimeoutProtocol,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": settings.shutdown_timeout_seconds,
    }


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve the exchange until a signal stops it (``workers`` processes sharing one socket)."""
    uvicorn.run("marketplace.app:create_app", **server_options(settings, host=host, port=port, workers=workers))
