"""The Inspector's domain: one timeline of deliveries and requests, why a delivery was refused, replay,
`curl` equivalents, export, and a probe of the receiver through its public URL.

No Streamlit here: the pages draw what these functions return. (Named `inspection`, not `inspect`, so the
standard library's module stays reachable.)
"""

from __future__ import annotations

from .bodies import body_bytes, body_view, header
from .curl import (
    KEY_VARIABLES,
    VERIFY_VARIABLE,
    curl_for_delivery,
    curl_for_request,
    delivery_url,
    is_handshake,
    shell_quote,
    signed_headers,
)
from .explain import OTHER_CAUSES, SIGNATURE_CAUSES, Explanation, explain, recheck
from .export import export_json
from .probe import Probe, probe_receiver
from .replay import REPLAY_AGENT, ReplayResult, can_replay, find_replayed, replay, replay_and_find, replay_blocker
from .timeline import (
    DELIVERY_OUTCOMES,
    REQUEST_OUTCOMES,
    Entry,
    conversation_of,
    from_delivery,
    from_request,
    item_from_params,
    lookup,
    newest_ids,
    query,
    request_kind,
    request_matches,
    request_outcome,
    request_target,
    timeline,
)

__all__ = ["DELIVERY_OUTCOMES", "Entry", "Explanation", "KEY_VARIABLES", "OTHER_CAUSES", "Probe", "REPLAY_AGENT", "REQUEST_OUTCOMES", "ReplayResult", "SIGNATURE_CAUSES", "VERIFY_VARIABLE", "body_bytes", "body_view", "can_replay", "conversation_of", "curl_for_delivery", "curl_for_request", "delivery_url", "explain", "export_json", "find_replayed", "from_delivery", "from_request", "header", "is_handshake", "item_from_params", "lookup", "newest_ids", "probe_receiver", "query", "recheck", "replay", "replay_and_find", "replay_blocker", "request_kind", "request_matches", "request_outcome", "request_target", "shell_quote", "signed_headers", "timeline"]
