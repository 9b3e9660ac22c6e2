#!/usr/bin/env python3
"""Every limit the OpenAPI document states, sent to the server at its boundary.

For each operation of the served `/openapi.json`, each query or header parameter and each
request-body field (of the operation's documented example body) with a `maximum`, `minimum`,
`maxLength`, `minLength`, `maxItems` or `minItems` (or a length the pattern of the whole
string states, `^[class]{m,n}$`) is sent twice: at the limit, which the server must take
(no `400`/`422`), and one past it, which it must refuse with a `400`/`422` problem. So a limit
the document and the server disagree on (an `Idempotency-Key` of `1..=255` documented but
`1..=128` served) fails here, whichever side moved. Schemathesis does not do this: it rarely
generates a value at a far boundary.

Operations need what their path names to exist: `api_fuzz.py` creates the boards `arena`,
`ladder` (a league, for the operations in `BOARD_OF`) and `laps` first. Parameters documented with `x-limits-check: false` are skipped (their description
says why: an opaque cursor, a limit the deployment sets), and an empty query or header parameter
counts as absent, so `minLength: 1` is not probed past.

Usage: limits_check.py BASE_URL BEARER   (api_fuzz.py calls `check` on the app it started)
"""

import copy
import itertools
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

BOUNDS = ("maximum", "minimum", "exclusiveMinimum", "exclusiveMaximum", "maxLength", "minLength",
          "maxItems", "minItems")
# Values for the path parameters the probes may fill in; an operation with another one is skipped.
PATH_VALUES = {"v": "v1", "board": "arena", "player": "ann", "tenant": "default"}
# The operations that act on another kind of board than `arena` (a tournament): the board they
# are probed on (scripts/api_fuzz.py creates it).
BOARD_OF = {"/api/{v}/boards/{board}/league": "ladder"}
_unique = itertools.count()


def deref(doc: dict, node):
    """Follows local `$ref`s (`#/components/...`)."""
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


# A length stated by the pattern of the whole string: `^[class]{m,n}$` (as `Idempotency-Key` is:
# Schemathesis, given `maxLength` beside a pattern, generates header values outside the pattern).
WHOLE = re.compile(r"\^(\[[^\]]+\])\{(\d+),(\d+)\}\$")
FILLERS = "k1aA_-.0"


def limits_of(schema: dict):
    """(keyword, value) for each bound the schema states."""
    found = [(k, schema[k]) for k in BOUNDS if isinstance(schema.get(k), int)]
    m = WHOLE.fullmatch(schema.get("pattern") or "")
    if m and "maxLength" not in schema:
        found += [("minLength", int(m.group(2))), ("maxLength", int(m.group(3)))]
    return found


def filler(schema: dict) -> str:
    """A character the schema's pattern class allows (`k` when there is none)."""
    m = WHOLE.fullmatch(schema.get("pattern") or "")
    if m:
        return next((c for c in FILLERS if re.fullmatch(m.group(1), c)), "k")
    return "k"


def value_at(schema: dict, keyword: str, bound: int, past: bool, base):
    """A value of the schema's type at the bound (or one past it); for an exclusive bound, the
    bound itself is past it and the nearest value inside (1 for integers, 0.5 else) is at it."""
    if keyword.startswith("exclusive"):
        step = 1 if schema.get("type") == "integer" else 0.5
        inside = bound + step if keyword == "exclusiveMinimum" else bound - step
        return bound if past else inside
    if keyword in ("maximum", "maxLength", "maxItems"):
        n = bound + 1 if past else bound
    else:
        n = bound - 1 if past else bound
    if keyword in ("maxLength", "minLength"):
        return filler(schema) * max(n, 0)
    if keyword in ("maxItems", "minItems"):
        enum = (schema.get("items") or {}).get("enum") or ["arena"]
        item = base[0] if isinstance(base, list) and base else enum[0]
        return [item] * n
    return n


def send(base: str, bearer: str, method: str, path: str, query: dict, headers: dict, body):
    url = base + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, method=method.upper(), data=data, headers={
        "authorization": f"Bearer {bearer}", **headers,
        **({"content-type": "application/json"} if data is not None else {})})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            # A stream (SSE) ends on its own within the app's live_max_secs.
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError) as e:
        return 0, f"no answer: {e}"


def unique_ids(body):
    """A fresh `id` for bodies that create a named resource (boards), so probes do not collide."""
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        body["id"] = f"{body['id'][:40]}-lim{next(_unique)}"
    return body


def body_fields(doc: dict, schema: dict, example, prefix=()):
    """(path in the body, schema) of every bounded field the example body reaches."""
    schema = deref(doc, schema)
    if not isinstance(example, dict):
        return
    for name, sub in (schema.get("properties") or {}).items():
        sub = deref(doc, sub)
        if limits_of(sub):
            yield prefix + (name,), sub
        if name in example and isinstance(example[name], dict):
            yield from body_fields(doc, sub, example[name], prefix + (name,))


def set_in(body, path, value):
    body = copy.deepcopy(body)
    node = body
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return body


def get_in(body, path):
    for part in path:
        if not isinstance(body, dict) or part not in body:
            return None
        body = body[part]
    return body


def check(base: str, bearer: str, doc: dict | None = None) -> list[str]:
    """Probes every documented limit; returns the disagreements (empty: none)."""
    if doc is None:
        with urllib.request.urlopen(base + "/openapi.json", timeout=15) as r:
            doc = json.load(r)
    failures: list[str] = []
    unprobed: list[str] = []
    webhook = subscribe(base, bearer, doc)
    try:
        probed = probe_all(base, bearer, doc, webhook, failures, unprobed)
    finally:
        cleanup(base, bearer, doc)
    print(f"limits_check: {probed} requests at and past the document's limits, "
          f"{len(failures)} disagreement(s)", flush=True)
    for what in unprobed:
        print(f"limits_check: not probed: {what}", flush=True)
    return failures


def probe_all(base: str, bearer: str, doc: dict, webhook: str | None, failures: list[str],
              unprobed: list[str]) -> int:
    """Probes every operation it can; adds to `failures` and `unprobed`; the requests sent."""
    probed = 0
    for template, item in doc["paths"].items():
        names = [p.strip("{}") for p in template.split("/") if p.startswith("{")]
        values = dict(PATH_VALUES)
        values["board"] = BOARD_OF.get(template, values["board"])
        if webhook and template.startswith("/api/{v}/webhooks/{id}"):
            values["id"] = webhook  # the subscription made for the probes
        if any(n not in values for n in names):
            unprobed += [f"{m.upper()} {template} (a path parameter it cannot fill in)"
                         for m, op in item.items() if isinstance(op, dict) and bounded(doc, item, op)]
            continue
        path = template
        for n in names:
            path = path.replace("{" + n + "}", values[n])
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch"):
                continue
            params = [deref(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
            media = ((op.get("requestBody") or {}).get("content") or {}).get("application/json")
            example = None
            if media is not None:
                example = media.get("example", deref(doc, media.get("schema", {})).get("example"))
                if example is None:
                    # A body is needed and the document gives none to start from.
                    if bounded(doc, item, op):
                        unprobed.append(f"{method.upper()} {template} (no example body)")
                    continue
            cases = []
            for p in params:
                if p.get("in") not in ("query", "header") or p.get("x-limits-check") is False:
                    continue
                for kw, bound in limits_of(deref(doc, p.get("schema", {}))):
                    cases.append((f"{p['in']} {p['name']}", kw, bound, p, None))
            if example is not None:
                for field, sub in body_fields(doc, media.get("schema", {}), example):
                    for kw, bound in limits_of(sub):
                        cases.append(("body " + ".".join(field), kw, bound, None, (field, sub)))
            for what, kw, bound, param, field in cases:
                for past in (False, True):
                    if past and param is not None and kw == "minLength" and bound == 1:
                        continue  # an empty parameter is an absent one
                    query, headers = {}, {}
                    body = unique_ids(copy.deepcopy(example)) if example is not None else None
                    if param is not None:
                        v = value_at(param["schema"], kw, bound, past, None)
                        (query if param["in"] == "query" else headers)[param["name"]] = str(v)
                    else:
                        fpath, sub = field
                        body = set_in(body, fpath,
                                      value_at(sub, kw, bound, past, get_in(body, fpath)))
                    status, text = send(base, bearer, method, path, query, headers, body)
                    probed += 1
                    if past and status not in (400, 422):
                        failures.append(f"{method.upper()} {template}: {what} one past {kw} "
                                        f"{bound} answered {status}, not 400/422 {text[:200]}")
                    if not past and not 200 <= status < 300:
                        failures.append(f"{method.upper()} {template}: {what} at {kw} {bound} "
                                        f"answered {status}, not 2xx: {text[:200]}")
    return probed


def bounded(doc: dict, item: dict, op: dict) -> bool:
    """Whether an operation states a limit on a parameter or a request-body field."""
    params = [deref(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
    if any(limits_of(deref(doc, p.get("schema", {}))) and p.get("x-limits-check") is not False
           for p in params):
        return True
    media = ((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
    schema = deref(doc, media.get("schema", {}))
    return any(limits_of(deref(doc, sub)) for sub in (schema.get("properties") or {}).values())


def subscribe(base: str, bearer: str, doc: dict) -> str | None:
    """A webhook subscription (the documented example) for the operations on one; its id."""
    example = deref(doc, {"$ref": "#/components/schemas/WebhookInput"}).get("example")
    if example is None:
        return None
    status, text = send(base, bearer, "post", "/api/v1/webhooks", {}, {}, example)
    try:
        return json.loads(text).get("id") if status == 201 else None
    except ValueError:
        return None


def cleanup(base: str, bearer: str, doc: dict) -> None:
    """Deletes the webhook subscriptions the probes made (to the example's address), so nothing
    later tries to deliver to it."""
    example = deref(doc, {"$ref": "#/components/schemas/WebhookInput"}).get("example") or {}
    status, text = send(base, bearer, "get", "/api/v1/webhooks", {}, {}, None)
    if status != 200:
        return
    try:
        subscriptions = json.loads(text).get("webhooks", [])
    except ValueError:
        return
    for sub in subscriptions:
        if sub.get("url") == example.get("url") and sub.get("id"):
            status, text = send(base, bearer, "delete", f"/api/v1/webhooks/{sub['id']}", {}, {},
                                None)
            if status != 204:
                print(f"limits_check: could not delete the probes' subscription {sub['id']}: "
                      f"{status} {text[:200]}", file=sys.stderr)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    failures = check(sys.argv[1].rstrip("/"), sys.argv[2])
    for f in failures:
        print("limits_check:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
