"""AWS Signature Version 4 for the wire path's one kind of request: a POST of a body to a fixed URL.

botocore's SigV4Auth signs any request, and pays for it on each one: it re-parses the URL, copies
the headers through email-based header maps twice and derives the signing key anew, a large share
of a wire-path request's CPU (BENCHMARKS.md, "Request path"). This
signer does the same arithmetic for the only request the wire path sends: the canonical URI and
host are fixed when it is made, the signing key is kept for the day, and it signs the headers
botocore would (all but those in botocore's SIGNED_HEADERS_BLACKLIST). Tests compare every
signature with botocore's SigV4Auth for the same request, and check what arrives at an endpoint
the way AWS does.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import SIGNED_HEADERS_BLACKLIST
from botocore.utils import normalize_url_path

ALGORITHM = "AWS4-HMAC-SHA256"
_UNSIGNED = frozenset(SIGNED_HEADERS_BLACKLIST)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_header(url: str) -> str:
    """The Host value AWS expects for `url`: lower case, no user info, no default port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


class SigV4:
    """`SigV4(url, region, service).sign(headers, body, credentials)` adds X-Amz-Date, the session
    token when there is one, and Authorization to `headers` (which must already hold Host)."""

    def __init__(self, url: str, region: str, service: str):
        self._uri = quote(normalize_url_path(urlsplit(url).path), safe="/~")
        self._region, self._service = region, service
        self._key: tuple[str, str, Any] = ("", "", None)  # (secret, day, keyed HMAC): one tuple, swapped whole
        self._second: tuple[float, str] = (math.nan, "")  # (whole second, its X-Amz-Date)

    def sign(self, headers: dict[str, str], body: bytes, credentials: Any, now: float | None = None) -> None:
        stamp = self._stamp(time.time() if now is None else now)
        day = stamp[:8]
        headers["X-Amz-Date"] = stamp
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        signed = []
        for name, value in headers.items():  # a loop, not a generator: a call fewer per header
            lower = name.lower()
            if lower not in _UNSIGNED:
                signed.append((lower, " ".join(value.split())))
        signed.sort()
        names = ";".join([name for name, _ in signed])
        canonical = "POST\n%s\n\n%s\n\n%s\n%s" % (  # noqa: UP031 - one formatting pass for the whole string
            self._uri, "\n".join([f"{name}:{value}" for name, value in signed]), names,
            hashlib.sha256(body).hexdigest(),
        )
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        mac = self._hmac(credentials.secret_key, day).copy()  # the keyed HMAC copied: no key set up per signature
        mac.update(to_sign.encode())
        headers["Authorization"] = (
            f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={mac.hexdigest()}"
        )

    def _stamp(self, now: float) -> str:
        """X-Amz-Date for the second `now` is in (time.gmtime's), written once per second."""
        second = math.floor(now)
        cached_second, stamp = self._second
        if second != cached_second:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            self._second = (second, stamp)  # one tuple, swapped whole: threads read a consistent pair
        return stamp

    def _hmac(self, secret: str, day: str) -> Any:
        """An HMAC keyed with the day's signing key (copied for each signature, never updated itself)."""
        cached_secret, cached_day, mac = self._key
        if (cached_secret, cached_day) != (secret, day):
            key = f"AWS4{secret}".encode()
            for part in (day, self._region, self._service, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            mac = hmac.new(key, digestmod=hashlib.sha256)
            self._key = (secret, day, mac)
        return mac
