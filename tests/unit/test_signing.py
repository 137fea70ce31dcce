"""forwarder.net.signing: the SigV4 signer gives what botocore's SigV4Auth gives, and Host as botocore derives it."""

from __future__ import annotations

import time

import pytest
from botocore.auth import SigV4Auth, _host_from_url
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from forwarder.net.signing import SigV4, host_header

DAY = 86400
PRINTABLE = st.characters(min_codepoint=0x21, max_codepoint=0x7E)  # printable ASCII, no space


def botocore_signed(url: str, region: str, service: str, headers: dict[str, str], body: bytes,
                    credentials: ReadOnlyCredentials, now: float) -> dict[str, str]:
    """The headers botocore's SigV4Auth adds for this request at `now`, as its add_auth would add them."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    request.context["timestamp"] = stamp
    auth = SigV4Auth(Credentials(*credentials), service, region)
    # What _modify_request_before_signing adds: the date, and the token when there is one.
    request.headers["X-Amz-Date"] = stamp
    if credentials.token:
        request.headers["X-Amz-Security-Token"] = credentials.token
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    # As _inject_signature_to_request writes it (scope() starts with the access key).
    signed_headers = auth.signed_headers(auth.headers_to_sign(request))
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={auth.scope(request)}, SignedHeaders={signed_headers}, Signature={signature}"
    )
    added = {"X-Amz-Date": stamp, "Authorization": authorization}
    if credentials.token:
        added["X-Amz-Security-Token"] = credentials.token
    return added


@st.composite
def header_values(draw: st.DrawFn) -> str:
    """Words with leading, trailing and internal runs of spaces, which SigV4 trims in the signature."""
    words = draw(st.lists(st.text(PRINTABLE | st.sampled_from("\u00e9\u00fc"), min_size=1, max_size=10),
                          min_size=1, max_size=4))
    spaces = st.text(" ", min_size=1, max_size=3)
    value = words[0] + "".join(draw(spaces) + word for word in words[1:])
    return draw(st.text(" ", max_size=2)) + value + draw(st.text(" ", max_size=2))


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https", "http"]))
    host = draw(st.sampled_from(["events.us-east-1.amazonaws.com", "Events.EU-West-1.AmazonAWS.com", "127.0.0.1",
                                 "[::1]", "localhost"]))
    port = draw(st.sampled_from(["", ":443", ":80", ":8443", ":4566"]) | st.integers(1, 65535).map(lambda p: f":{p}"))
    # The wire path's URL always ends in "/"; a prefix (an API gateway, a proxying endpoint) must be kept as it is.
    segments = draw(st.lists(st.sampled_from(["prefix", "a b", "~user", "caf\u00e9", "x-y_z.1", "%41"]), max_size=3))
    path = "/" + "".join(f"{segment}/" for segment in segments)
    return f"{scheme}://{host}{port}{path}"


@st.composite
def header_sets(draw: st.DrawFn, url: str) -> dict[str, str]:
    value = header_values()
    case = st.sampled_from([str, str.lower, str.upper])
    headers = {
        "Host": host_header(url),  # the wire path always sets it, as it will be sent
        draw(case)("Content-Type"): draw(st.sampled_from(["application/x-amz-json-1.1", "application/json"]) | value),
        draw(case)("X-Amz-Target"): draw(st.just("AWSEvents.PutEvents") | value),
    }
    # Never signed by botocore (SIGNED_HEADERS_BLACKLIST), whatever their value.
    if draw(st.booleans()):
        headers["User-Agent"] = draw(value)
    if draw(st.booleans()):
        headers["X-Amzn-Trace-Id"] = draw(st.just("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1") | value)
    return headers


credentials = st.builds(
    ReadOnlyCredentials,
    st.text(PRINTABLE, min_size=1, max_size=24),
    st.text(PRINTABLE | st.just(" "), min_size=1, max_size=44),
    st.none() | st.just("") | st.text(PRINTABLE, min_size=1, max_size=60),
)
names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=16)
bodies = st.binary(max_size=300) | st.text(max_size=100).map(str.encode)  # empty, arbitrary bytes, UTF-8 text


@settings(deadline=None, max_examples=200)
@given(data=st.data(), url=urls(), region=names, service=names, body=bodies, first=credentials, second=credentials,
       now=st.integers(0, 4102444799), days=st.integers(1, 400), other_second=st.integers(0, DAY - 1))
def test_signatures_match_botocores_across_days_and_credentials(data, url, region, service, body, first, second,
                                                                 now, days, other_second):
    headers = data.draw(header_sets(url))
    other_day = (now // DAY + days) * DAY + other_second  # always a later UTC day
    signer = SigV4(url, region, service)
    # One signer across day changes and back, and a change of secret within a day: the cached signing key is
    # only right for its own (secret, day).
    for at, creds in [(now, first), (other_day, first), (now + 0.75, first), (now, second), (other_day, second)]:
        signed = dict(headers)
        signer.sign(signed, body, creds, now=at)
        expected = botocore_signed(url, region, service, headers, body, creds, at)
        added = {name: value for name, value in signed.items() if name not in headers}
        assert added["Authorization"] == expected["Authorization"]
        assert added == expected
        assert headers.items() <= signed.items()  # the headers given go as they were


@pytest.mark.parametrize("url", [
    "https://events.us-east-1.amazonaws.com/",
    "https://events.us-east-1.amazonaws.com:443/",
    "http://events.us-east-1.amazonaws.com:80/",
    "HTTPS://EVENTS.US-EAST-1.AMAZONAWS.COM/",
    "https://events.us-east-1.amazonaws.com:80/",
    "http://127.0.0.1:443/",
    "http://127.0.0.1:4566/prefix/",
    "https://user:pass@Example.com:8443/",
    "http://user@example.com/",
    "http://[::1]/",
    "https://[::1]:443/",
    "http://[::1]:8080/",
    "https://[2001:DB8::1]:8443/",
    "http://events.invalid",
])
def test_host_header_is_the_host_botocore_signs(url):
    assert host_header(url) == _host_from_url(url)


@pytest.mark.parametrize(("url", "host"), [
    ("http://Events.Example.COM:80/", "events.example.com"),  # default port dropped, lower case
    ("https://events.example.com:443/", "events.example.com"),
    ("https://events.example.com:80/", "events.example.com:80"),  # only the scheme's own default is dropped
    ("http://events.example.com:443/", "events.example.com:443"),
    ("http://127.0.0.1:4566/", "127.0.0.1:4566"),
    ("https://key:secret@events.example.com/", "events.example.com"),  # user info never goes in Host
    ("http://[::1]:8080/", "[::1]:8080"),  # an IPv6 literal keeps its brackets
    ("https://[2001:DB8::1]/", "[2001:db8::1]"),
])
def test_host_header(url, host):
    assert host_header(url) == host


def sign(credentials: ReadOnlyCredentials, headers: dict[str, str] | None = None, now: float | None = 1.8e9
         ) -> dict[str, str]:
    headers = {"Host": "events.us-east-1.amazonaws.com", "X-Amz-Target": "AWSEvents.PutEvents"} | (headers or {})
    SigV4("https://events.us-east-1.amazonaws.com/", "us-east-1", "events").sign(headers, b"{}", credentials, now=now)
    return headers


@pytest.mark.parametrize("token", [None, ""])
def test_no_security_token_header_without_a_token(token):
    headers = sign(ReadOnlyCredentials("AKID", "secret", token))
    assert not any(name.lower() == "x-amz-security-token" for name in headers)
    assert "x-amz-security-token" not in headers["Authorization"]


def test_the_session_token_is_sent_and_signed():
    headers = sign(ReadOnlyCredentials("AKID", "secret", "token"))
    assert headers["X-Amz-Security-Token"] == "token"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-target," in headers["Authorization"]


def test_user_agent_and_trace_id_are_not_signed():
    # X-Ray and the SDK may change these on the way; AWS does not expect them in the signature.
    headers = sign(ReadOnlyCredentials("AKID", "secret", None), {"User-Agent": "ua", "X-Amzn-Trace-Id": "Root=1"})
    assert "SignedHeaders=host;x-amz-date;x-amz-target," in headers["Authorization"]


def test_without_now_it_signs_at_the_current_time():
    before = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = sign(ReadOnlyCredentials("AKID", "secret", None), now=None)
    after = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    assert before <= headers["X-Amz-Date"] <= after
    assert f"Credential=AKID/{headers['X-Amz-Date'][:8]}/us-east-1/events/aws4_request," in headers["Authorization"]
