"""schemathesis hooks for the API tier (test/api/runSchemathesis.ts).

Network rule: tests send traffic only to loopback. schemathesis generates target URLs on any host, and a
subscription (or Svix endpoint) created with one would have the dispatcher connect there. So every generated target_url (url) that
is a well-formed http(s) URL keeps its path and query but points at the run's loopback receiver; values
that are not such URLs (the negative cases) are sent as generated and must be refused.
"""

import os
import re
import uuid
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


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,256}$")  # the documented form


@schemathesis.hook
def map_headers(context, headers):
    # Generated Idempotency-Keys repeat (often "0"): a repeated key with the same body replays the first answer
    # (perhaps of a resource deleted since), with another body it is a 409. Both are right, but they are not
    # what the generated sequence expects, so a well-formed key is made unique; malformed ones stay as they are.
    for name in list(headers or {}):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and IDEMPOTENCY_KEY.match(headers[name]):
            headers[name] = f"st-{uuid.uuid4()}"
    return headers


@schemathesis.hook
def before_call(context, case, kwargs):
    if not isinstance(case.body, dict):
        return
    # The seed API's subscriptions take target_url; the Svix API's endpoints (and an application created
    # with a message) take url.
    for field in ("target_url", "url"):
        if field in case.body:
            case.body[field] = _on_loopback(case.body[field])
