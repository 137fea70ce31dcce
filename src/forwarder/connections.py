"""Keep-alive HTTP(S) connections to one endpoint, for the wire path's PutEvents requests.

Why not botocore's HTTP session: under the forwarder's concurrency, urllib3 and botocore's
request and response wrappers cost about as much CPU per request as signing and the body
together (BENCHMARKS.md, "Request path"). The standard library's http.client does the HTTP;
this module only keeps idle connections for reuse and speaks botocore's language when something
fails, so the publisher treats these errors exactly as it treats botocore's:

- connecting: ConnectTimeoutError, SSLError or EndpointConnectionError;
- after the request was written: ReadTimeoutError or ConnectionClosedError (the request may
  have landed: the publisher retries its entries, at least once, as for botocore's client).

TLS is verified against the CA bundle botocore would use (AWS_CA_BUNDLE, ca_bundle in the
config file, REQUESTS_CA_BUNDLE, then botocore's default). A proxy is not spoken here: wire.py
sends through botocore's session when one applies.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
from collections import deque
from urllib.parse import urlsplit

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import SSLError as BotocoreSSLError


class ConnectionPool:
    """`ConnectionPool(url, ...).post(body, headers) -> (status, headers, body)`; thread-safe."""

    def __init__(self, url: str, connect_timeout: float, read_timeout: float, ca_bundle: str | None = None):
        parts = urlsplit(url)
        self.url = url
        self._path = parts.path or "/"
        self._host, self._https = parts.hostname or "", parts.scheme == "https"
        self._port = parts.port or (443 if self._https else 80)
        self._timeouts = (connect_timeout, read_timeout)
        self._tls = ssl.create_default_context(cafile=ca_bundle) if self._https else None
        # Idle connections, most recent last: deque's append and pop are atomic, so no lock is needed.
        self._idle: deque[http.client.HTTPConnection] = deque()

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        connection = self._checkout()
        try:
            connection.request("POST", self._path, body, headers)
            response = connection.getresponse()
            data = response.read()
        except TimeoutError as error:
            connection.close()
            raise ReadTimeoutError(endpoint_url=self.url, error=error) from error
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise ConnectionClosedError(endpoint_url=self.url, error=error) from error
        if response.will_close:
            connection.close()
        else:
            self._idle.append(connection)
        return response.status, {name.lower(): value for name, value in response.getheaders()}, data

    def close(self) -> None:
        """Close the idle connections (the handler's pool lives as long as its process)."""
        while True:
            try:
                self._idle.pop().close()
            except IndexError:
                return

    def _checkout(self) -> http.client.HTTPConnection:
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:  # none idle (another thread may have taken the last one just now)
                return self._connect()
            if _still_open(connection):
                return connection
            connection.close()  # the server closed it while idle: never write a request into that

    def _connect(self) -> http.client.HTTPConnection:
        connect_timeout, read_timeout = self._timeouts
        if self._https:
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=connect_timeout, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=connect_timeout)
        try:
            connection.connect()  # http.client sets TCP_NODELAY
        except TimeoutError as error:
            raise ConnectTimeoutError(endpoint_url=self.url, error=error) from error
        except ssl.SSLError as error:
            raise BotocoreSSLError(endpoint_url=self.url, error=error) from error
        except OSError as error:
            raise EndpointConnectionError(endpoint_url=self.url, error=error) from error
        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        connection.sock.settimeout(read_timeout)
        # Never let http.client reconnect on its own: that socket would have neither the read timeout
        # nor keep-alive. A closed connection fails instead (ConnectionClosedError).
        connection.auto_open = 0
        return connection


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket is readable only when the server closed it (or broke protocol)."""
    sock = connection.sock
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return not poller.poll(0)
