"""The fault endpoint's control routes under ``/_fault/``: read and change the config, read what happened.

JSON in and out, answered without latency or faults; the routes and their answers are listed in
``forwarder_testing.eventbridge_endpoint``'s docstring. The paged routes take ``?since=N`` and answer the
total count with the items from index N on, so a reader can follow a long run without reading it all again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from .handler import Handler


def _since(query: str) -> int:
    return int(parse_qs(query).get("since", ["0"])[0])


def answer_get(handler: Handler) -> None:
    route, state = urlsplit(handler.path), handler.state
    if route.path == "/_fault/config":
        handler.send_json(200, state.config_dict())
    elif route.path == "/_fault/stats":
        handler.send_json(200, state.stats())
    elif route.path == "/_fault/accepted":
        since = _since(route.query)
        entries = state.accepted_since(since)
        handler.send_json(200, {"count": since + len(entries), "entries": entries})
    elif route.path == "/_fault/accepted_v2":
        since = _since(route.query)
        entries = state.accepted_v2_since(since)
        handler.send_json(200, {"count": since + len(entries), "entries": entries})
    elif route.path == "/_fault/ambiguous":
        since = _since(route.query)
        event_ids = state.ambiguous_since(since)
        handler.send_json(200, {"count": since + len(event_ids), "event_ids": event_ids})
    else:
        handler.send_json(404, {"message": f"no route {route.path}"})


def answer_post(handler: Handler, body: bytes) -> None:
    if handler.path == "/_fault/config":
        try:
            handler.send_json(200, handler.state.configure(json.loads(body or b"{}")))
        except (ValueError, TypeError) as error:
            handler.send_json(400, {"message": str(error)})
    elif handler.path == "/_fault/reset":
        handler.state.reset()
        handler.send_json(200, handler.state.config_dict())
    else:
        handler.send_json(404, {"message": f"no route {handler.path}"})
