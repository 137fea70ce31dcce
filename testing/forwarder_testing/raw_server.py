"""A bare TCP server on 127.0.0.1, for tests that need a peer no HTTP library would be.

A peer that never answers, resets, sends an interim 103 first, holds a request back or records the
exact request line: each test says what it does with a connection (`serve`, on a thread of its own per
connection); this class only listens and accepts.
"""

from __future__ import annotations

import socket
import threading
from typing import BinaryIO


class RawServer:
    """Listens on a free port of 127.0.0.1 from construction until `close`. Subclasses set what `serve`
    reads before calling `super().__init__()`, which starts accepting."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def serve(self, sock: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self.serve, args=(sock,), daemon=True).start()


def read_request(reader: BinaryIO) -> bool:
    """Read one HTTP/1.1 request (request line, headers, a Content-Length body) from `reader`; False when the
    client closed the connection instead."""
    if not reader.readline():
        return False
    length = 0
    while (header := reader.readline()) not in (b"\r\n", b""):
        if header.lower().startswith(b"content-length:"):
            length = int(header.split(b":")[1])
    reader.read(length)
    return True
