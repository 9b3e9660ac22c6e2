#!/usr/bin/env python3
"""Checks the OpenAPI document (api/openapi.json) against the app.

  openapi_check.py spec
      The document is valid OpenAPI 3.1 (openapi-spec-validator); every route of the app's route
      table (ROUTES in shared/leaderboard/src/http/routes.rs) is documented and every documented
      path is one of its routes; every operation documents every error
      status the handlers can return (the statuses of LeaderboardError::status in
      shared/leaderboard/src/error.rs, read from the source).

  openapi_check.py responses FILE.jsonl [FILE.jsonl ...]
      Every response the integration suites recorded (EDGE_RECORD_RESPONSES, one JSON object per
      line: runtime, method, path, status, headers, body) is documented: its path and method, its
      status, its content type, and a JSON body validates against the documented schema (JSON
      Schema 2020-12 with jsonschema). A 405 problem with `Allow` to a method the path does not
      serve conforms. Responses to paths no route documents (deliberate probes of
      unknown paths, served by the catch-all 404) are counted and skipped.
"""

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "api" / "openapi.json"
METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]


def load_doc():
    return json.loads(DOC_PATH.read_text(encoding="utf-8"))


def error_statuses():
    """The statuses LeaderboardError::status maps errors to (read from the source)."""
    src = (ROOT / "shared" / "leaderboard" / "src" / "error.rs").read_text(encoding="utf-8")
    start = src.index("pub fn status(&self) -> u16")
    body = src[start:src.index("\n    }\n", start)]
    return sorted(set(re.findall(r"=>\s*(\d{3})", body)))


def app_routes():
    """The app's route table (`ROUTES` in shared/leaderboard/src/http/routes.rs, read from the
    source): every route the API serves. spin.toml's triggers are broader (`/api/...`), so they
    no longer say which paths are served."""
    src = (ROOT / "shared" / "leaderboard" / "src" / "http" / "routes.rs").read_text(encoding="utf-8")
    start = src.index("pub const ROUTES: &[(&str, &str)] = &[")
    body = src[src.index("= &[", start) + 4:src.index("\n];", start)]
    body = re.sub(r"//[^\n]*", "", body)
    # Each row is a `("route", "component")` pair, however it is wrapped, or a constant that
    # is one (`CATCH_ALL`); anything else in the table stops the check rather than being
    # skipped.
    row = re.compile(r'\s*(?:\(\s*"([^"]+)"\s*,\s*"[^"]+"\s*,?\s*\)|([A-Z][A-Z0-9_]*))\s*(?:,|$)')
    routes, at = [], 0
    while body[at:].strip():
        m = row.match(body, at)
        if not m:
            raise SystemExit(f"openapi_check: ROUTES has a row this check cannot read: {body[at:].strip()[:80]!r}")
        if m.group(1):
            routes.append(m.group(1))
        else:
            const = re.search(
                r"pub const " + m.group(2) + r': \(&str, &str\) = \(\s*"([^"]+)"\s*,\s*"[^"]+"\s*\);', src)
            if not const:
                raise SystemExit(f"openapi_check: ROUTES names {m.group(2)}, which is no (route, component) constant")
            routes.append(const.group(1))
        at = m.end()
    if not routes:
        raise SystemExit("openapi_check: no route found in ROUTES")
    return routes


def template_of(route):
    """A Spin route as an OpenAPI path template (`:name` → `{name}`), and whether it is a wildcard."""
    wildcard = route.endswith("/...")
    base = route[: -len("/...")] if wildcard else route
    return re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", base), wildcard


def check_spec():
    from openapi_spec_validator import validate

    doc = load_doc()
    problems = []
    try:
        validate(doc)
    except Exception as e:  # the validator's own error names the place
        problems.append(f"not valid OpenAPI 3.1: {e}")
    if not str(doc.get("openapi", "")).startswith("3.1"):
        problems.append(f"openapi is {doc.get('openapi')!r}, expected 3.1.x")
    paths = doc.get("paths", {})
    routes = app_routes()
    routed = []
    for route in routes:
        tpl, wildcard = template_of(route)
        if route == "/...":
            continue  # the catch-all 404 problem
        routed.append((tpl, wildcard))
        if wildcard:
            if not any(p.startswith(tpl + "/") for p in paths):
                problems.append(f"route {route} has no documented path under {tpl}/")
        elif tpl not in paths:
            problems.append(f"route {route} is not documented ({tpl})")
    for p in paths:
        if not any(p == tpl or (w and p.startswith(tpl + "/")) for tpl, w in routed):
            problems.append(f"documented path {p} is no route of the app's route table")
    statuses = error_statuses()
    ops = 0
    for p, item in paths.items():
        for m in METHODS:
            op = item.get(m)
            if op is None or m == "options":
                continue
            ops += 1
            missing = [s for s in statuses if s not in op.get("responses", {})]
            if missing:
                problems.append(f"{m.upper()} {p} does not document {', '.join(missing)}")
    for pr in problems:
        print(f"  {pr}")
    print(f"openapi spec: {len(paths)} paths, {ops} operations, {len(routes)} routes of the app, "
          f"error statuses {', '.join(statuses)}: {len(problems)} problem(s)")
    return 1 if problems else 0


def compile_paths(doc):
    out = []
    for p in doc["paths"]:
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"
        # Literal segments win over parameters (`/dead-letters/redrive` over `/{id}`).
        out.append((p.count("{"), re.compile(rx), p))
    out.sort(key=lambda t: (t[0], t[2]))
    return out


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        ptr = node["$ref"]
        assert ptr.startswith("#/"), ptr
        node = doc
        for part in ptr[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def pointer(*parts):
    return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def check_responses(files):
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    doc = load_doc()
    base = "urn:edge-leaderboards:openapi"
    registry = Registry().with_resource(base, Resource.from_contents(
        {**doc, "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    compiled = compile_paths(doc)
    seen_ops, validated, skipped = Counter(), 0, Counter()
    failures = defaultdict(list)
    runtimes = Counter()
    for f in files:
        for n, line in enumerate(Path(f).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            runtimes[rec.get("runtime", "?")] += 1
            path = rec["path"].split("?", 1)[0]
            tpl = next((p for _, rx, p in compiled if rx.match(path)), None)
            if tpl is None:
                skipped[f"{rec['method']} {path} → {rec['status']}"] += 1
                continue
            method = rec["method"].lower()
            item = doc["paths"][tpl]
            op = item.get(method) or (item.get("get") if method == "head" else None)
            key = (rec["method"], tpl, rec["status"])
            if op is None:
                # A method the path does not serve: the documented answer is the 405 problem
                # with `Allow` (OpenAPI cannot list "every other method").
                allow = rec.get("headers", {}).get("allow")
                if rec["status"] == 405 and allow and rec.get("headers", {}).get(
                        "content-type") == "application/problem+json":
                    validated += 1
                else:
                    failures[key].append(f"{f}:{n}: method not documented")
                continue
            seen_ops[(rec["method"], tpl)] += 1
            status = str(rec["status"])
            responses = op.get("responses", {})
            if status not in responses:
                failures[key].append(f"{f}:{n}: status {status} not documented")
                continue
            resp = resolve(doc, responses[status])
            content = resp.get("content")
            body = rec.get("body", "")
            ctype = rec.get("headers", {}).get("content-type", "")
            if not content:
                if body and rec["status"] not in (204, 304):
                    failures[key].append(f"{f}:{n}: a body where none is documented")
                validated += 1
                continue
            if not body or method == "head":
                validated += 1
                continue
            media = next((m for m in content if m == ctype), None) or next(
                (m for m in content if m.split(";")[0].strip() == ctype.split(";")[0].strip()), None)
            if media is None:
                failures[key].append(f"{f}:{n}: content type {ctype!r} not documented ({', '.join(content)})")
                continue
            if "json" not in media:
                validated += 1
                continue
            try:
                value = json.loads(body)
            except ValueError as e:
                failures[key].append(f"{f}:{n}: body is not JSON: {e}")
                continue
            # The schema's place in the document (responses may be shared components).
            if "$ref" in responses[status]:
                where = responses[status]["$ref"][2:] + "/" + pointer("content", media, "schema")
            else:
                where = pointer("paths", tpl, method, "responses", status, "content", media, "schema")
            validator = Draft202012Validator({"$ref": f"{base}#/{where}"}, registry=registry)
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
            if errors:
                e = errors[0]
                failures[key].append(f"{f}:{n}: {e.message} at {list(e.absolute_path)}")
                continue
            validated += 1
    print(f"openapi responses: {sum(runtimes.values())} recorded ({', '.join(f'{k} {v}' for k, v in sorted(runtimes.items()))}), "
          f"{validated} validated, {sum(skipped.values())} to undocumented paths skipped, "
          f"{len(seen_ops)} operations seen, {sum(len(v) for v in failures.values())} failure(s)")
    for what, count in sorted(skipped.items()):
        print(f"  skipped: {what} ×{count}")
    for (m, tpl, st), msgs in sorted(failures.items()):
        print(f"  FAIL {m} {tpl} {st}: {len(msgs)}× — {msgs[0]}")
    return 1 if failures else 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "spec":
        return check_spec()
    if len(sys.argv) >= 3 and sys.argv[1] == "responses":
        return check_responses(sys.argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
