"""The eventbridgev2 (Custom Event Bus) side of the fault endpoint, by its wire names.

One ``FaultEndpoint`` (``eventbridge_endpoint``) serves both APIs on one port. The v2 answers, the wire
format and the dedup window are in ``fault_endpoint/v2.py``; what the service refuses is in
``fault_endpoint/v2_validation.py``.
"""

from __future__ import annotations

from .fault_endpoint.v2 import CBOR_CONTENT_TYPE, ERROR_NAMESPACE, OPERATION_PATH, PROTOCOL, SERVICE, put_events_v2

__all__ = ["CBOR_CONTENT_TYPE", "ERROR_NAMESPACE", "OPERATION_PATH", "PROTOCOL", "SERVICE", "put_events_v2"]
