"""What a request fault does to the connection, the same for both APIs: hold it, reset it, trickle it.

``slow`` holds the request before it is processed and ``accepted_hang`` holds it after the entries were
recorded, then closes without an answer; ``reset`` and ``accepted_reset`` drop the connection with an RST;
``trickle`` writes the whole answer one byte per ``trickle_ms``. A hold ends early when the endpoint stops.
"""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import FaultConfig

if TYPE_CHECKING:
    from .handler import Handler


def hold(handler: Handler, config: FaultConfig) -> None:
    """Wait slow_ms ("slow", "accepted_hang"); stopping the endpoint wakes it."""
    handler.state.stopping.wait(config.slow_ms / 1000)


def answer_accepted(handler: Handler, fault: str | None, config: FaultConfig, send_answer: Callable[[], None]) -> None:
    """Send the answer of a request whose entries were processed, unless its fault drops or holds it."""
    if fault == "accepted_reset":
        reset_connection(handler)
    elif fault == "accepted_hang":
        hold(handler, config)
        handler.close_connection = True  # the answer is never sent
    else:
        send_answer()


def reset_connection(handler: Handler) -> None:
    """Drop the connection with an RST (SO_LINGER 0) and no answer at all."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    # rfile holds a reference to the socket; close it too so the RST goes out now. (wfile holds
    # none, and the base class still flushes it after this handler returns.)
    handler.rfile.close()
    handler.connection.close()


def trickle(handler: Handler, write_answer: Callable[[], None]) -> None:
    """Write the answer `write_answer` would send, byte by byte, then close the connection."""
    handler.trickling = False
    real, handler.wfile = handler.wfile, io.BytesIO()
    try:
        write_answer()
    finally:
        answer, handler.wfile = handler.wfile.getvalue(), real
    handler.close_connection = True
    for position in range(len(answer)):
        if handler.state.stopping.wait(handler.state.config.trickle_ms / 1000):
            return
        try:
            real.write(answer[position:position + 1])
        except OSError:
            return  # the client hung up: nobody is reading
