"""A client that trickles its request headers is cut off (``HEADER_TIMEOUT_SECONDS``), a normal one is not.
One ``marketplace serve`` process; a few seconds."""

from __future__ import annotations

import asyncio
import time

from tests.reliability.app_process import app_process


async def _closed_after(reader: asyncio.StreamReader, within: float) -> float | None:
    """Seconds until the server closed the connection, or None if it did not within ``within``."""
    started = time.monotonic()
    try:
        data = await asyncio.wait_for(reader.read(), within)
    except TimeoutError:
        return None
    assert data == b"", data
    return time.monotonic() - started


async def test_a_client_trickling_its_headers_is_cut_off() -> None:
    async with app_process(HEADER_TIMEOUT_SECONDS="1") as one:
        port = int(one.base_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: kopit.test\r\n")
        started = time.monotonic()

        async def trickle() -> None:
            for byte in b"X-Slow: " + b"a" * 40:
                if writer.is_closing():
                    return
                writer.write(bytes([byte]))
                await asyncio.sleep(0.2)

        trickling = asyncio.create_task(trickle())
        closed = await _closed_after(reader, 8)
        trickling.cancel()
        writer.close()
    assert closed is not None, "the connection stayed open"
    assert time.monotonic() - started < 8


async def test_a_connection_that_sends_nothing_is_closed() -> None:
    async with app_process(HEADER_TIMEOUT_SECONDS="1") as one:
        port = int(one.base_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        closed = await _closed_after(reader, 8)
        writer.close()
    assert closed is not None


async def test_a_request_sent_in_time_is_answered() -> None:
    async with app_process(HEADER_TIMEOUT_SECONDS="1") as one:
        port = int(one.base_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: kopit.test\r\n")
        await asyncio.sleep(0.3)
        writer.write(b"Connection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 8)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200")
