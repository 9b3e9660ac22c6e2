#!/usr/bin/env python3
"""The GraphQL door, driven by a real GraphQL client: `gql` (with graphql-core, from PyPI,
installed by scripts/setup.sh into target/pytools).

Introspects the served schema and compares it, printed by graphql-core, with `api/schema.graphql`
(printed the same way); then runs every query and the mutation through the client (which also
validates each document against the introspected schema before sending it) and a few documents
that must fail. Prints one JSON object with what it saw, for the app test
(tests/app/suite/api_graphql.rs) to assert on; exits 0 unless the client itself broke.

Usage:
  scripts/graphql_client.py run <base-url> <board> <player-token> <other-player>
  scripts/graphql_client.py print-schema <base-url>   (the served SDL, to update the checked-in file)
"""

import json
import sys
from pathlib import Path

from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport
from graphql import GraphQLError, build_ast_schema, parse, print_schema

ROOT = Path(__file__).resolve().parent.parent
CHECKED_IN = ROOT / "api" / "schema.graphql"
TIMEOUT_SECS = 30


def client(base: str, token: str | None = None, lang: str | None = None) -> Client:
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if lang:
        headers["Accept-Language"] = lang
    transport = RequestsHTTPTransport(url=f"{base}/graphql", headers=headers, timeout=TIMEOUT_SECS,
                                      retries=0)
    return Client(transport=transport, fetch_schema_from_transport=True,
                  execute_timeout=TIMEOUT_SECS)


def served_sdl(base: str) -> str:
    c = client(base)
    with c:
        pass
    return print_schema(c.schema)


def attempt(c: Client, document: str, variables: dict | None = None) -> dict:
    """Runs a document; returns {"data": …} or {"errors": […]} (the GraphQL errors)."""
    try:
        with c as session:
            return {"data": session.execute(gql(document), variable_values=variables)}
    except TransportQueryError as e:
        return {"errors": e.errors, "data": e.data}


ENTRY = "rank player score subscore achievedAt metadata"

QUERIES = {
    "board": ("query($id: ID!) { board(id: $id) { id sort operator scoreType periodKind writeMode "
              "publicRead currentPeriod nextReset config } }", lambda a: {"id": a["board"]}),
    "top": ("query($b: ID!) { leaderboard(board: $b, limit: 2) { board entries { " + ENTRY + " } "
            "totalCount nextCursor period currentPeriod nextReset } }", lambda a: {"b": a["board"]}),
    "player": ("query($b: ID!, $p: ID!) { player(board: $b, id: $p) { entry { " + ENTRY + " } "
               "percentile totalCount period nextReset } }",
               lambda a: {"b": a["board"], "p": a["other"]}),
    "absent": ("query($b: ID!) { player(board: $b, id: \"nobody\") { totalCount } }",
               lambda a: {"b": a["board"]}),
    "around": ("query($b: ID!, $p: ID!) { around(board: $b, player: $p, radius: 1) { entries { "
               "rank player score } totalCount } }", lambda a: {"b": a["board"], "p": a["other"]}),
    "players": ("query($b: ID!, $ids: [ID!]!) { players(board: $b, ids: $ids) { entries { rank "
                "player score } missing totalCount period } }",
                lambda a: {"b": a["board"], "ids": [a["other"], "nobody"]}),
    "unknown_board": ("{ leaderboard(board: \"no-such-board\") { totalCount } }", lambda a: None),
}

SUBMIT = ("mutation($b: ID!, $in: ScoreInput!, $key: String) { submitScore(board: $b, input: $in, "
          "idempotencyKey: $key) { status httpStatus replayed player entry { " + ENTRY + " } "
          "totalCount previousScore improved } }")


def run(base: str, board: str, token: str, other: str) -> dict:
    args = {"board": board, "other": other}
    out: dict = {}
    served = served_sdl(base)
    try:
        checked_in = print_schema(build_ast_schema(parse(CHECKED_IN.read_text())))
    except GraphQLError as e:
        checked_in = f"(api/schema.graphql does not build: {e})"
    out["schema_matches"] = served == checked_in
    if served != checked_in:
        # For a reviewer to diff, or to copy over api/schema.graphql when the change is meant.
        (ROOT / "target").mkdir(exist_ok=True)
        (ROOT / "target" / "schema.served.graphql").write_text(served + "\n")
        out["served_schema"] = served
    anonymous = client(base)
    for name, (document, variables) in QUERIES.items():
        out[name] = attempt(anonymous, document, variables(args))
    # The second page, by the first page's cursor.
    cursor = (out["top"].get("data") or {}).get("leaderboard", {}).get("nextCursor")
    out["next_page"] = attempt(anonymous, "query($b: ID!, $c: String) { leaderboard(board: $b, "
                               "limit: 2, cursor: $c) { entries { rank player } nextCursor } }",
                               {"b": board, "c": cursor})
    # The result map in the selection set's order (GraphQL spec, "Serialized Map Ordering"): the
    # keys as the client's JSON decoding saw them, which keeps the order they came in.
    ordered = attempt(anonymous, "query($b: ID!) { leaderboard(board: $b, limit: 1) { totalCount "
                      "entries { score player rank } board } }", {"b": board})
    top = (ordered.get("data") or {}).get("leaderboard") or {}
    out["key_order"] = {"leaderboard": list(top),
                        "entry": list((top.get("entries") or [{}])[0])}
    submit_vars = {"b": board, "key": "gql-key-1",
                   "in": {"player": "gql-player", "score": "4321", "metadata": "{\"car\":\"red\"}"}}
    out["submit"] = attempt(client(base, token), SUBMIT, submit_vars)
    out["submit_again"] = attempt(client(base, token), SUBMIT, submit_vars)
    out["submit_anonymous"] = attempt(anonymous, SUBMIT, submit_vars)
    out["german"] = attempt(client(base, lang="de"),
                            "{ leaderboard(board: \"no-such-board\") { totalCount } }")
    return out


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "print-schema":
        sys.stdout.write(served_sdl(sys.argv[2]) + "\n")
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "run":
        print(json.dumps(run(*sys.argv[2:6])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
