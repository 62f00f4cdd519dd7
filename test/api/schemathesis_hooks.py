"""schemathesis hooks for the API tier (test/api/runSchemathesis.ts).

Network rule: tests send traffic only to loopback. schemathesis generates target URLs on any host, and a
subscription created with one would have the dispatcher connect there. So every generated target_url that
is a well-formed http(s) URL keeps its path and query but points at the run's loopback receiver; values
that are not such URLs (the negative cases) are sent as generated and must be refused.
"""

import os
from urllib.parse import urlsplit, urlunsplit

import schemathesis

RECEIVER = urlsplit(os.environ["HOOKPOST_RECEIVER_URL"])


def _on_loopback(value):
    if not isinstance(value, str):
        return value
    try:
        parts = urlsplit(value)
        parts.port  # raises on a malformed port
    except ValueError:
        return value
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return value
    return urlunsplit(("http", RECEIVER.netloc, parts.path, parts.query, parts.fragment))


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, dict) and "target_url" in case.body:
        case.body["target_url"] = _on_loopback(case.body["target_url"])
