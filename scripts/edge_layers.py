#!/usr/bin/env python3
"""Lists the `crate::` imports of each module of `shared/edge` and checks its layering.

A module is a file or folder directly under `shared/edge/src` (`repo/` and its files are one
module, `repo`). For each module the script prints the other modules it names through `crate::`
(in `use` lines and in paths inside the code; comments are ignored), then fails when

- two or more modules import each other in a circle (a strongly connected component), or
- a module imports a module of a higher layer (the layers are `LAYERS` below, bottom first, as
  the crate's doc comment in `shared/edge/src/lib.rs` states them), or
- a module is in no layer (a new module must say where it stands).

Usage: scripts/edge_layers.py [--quiet] [SRC_DIR]   (default: shared/edge/src)
"""

import re
import sys
from pathlib import Path

# Bottom to top. A module may import modules of its own layer or of a lower one, never a higher one.
LAYERS = [
    ("platform", ["platform", "redis_error", "kv", "scope", "settings", "outbound"]),
    ("stores", ["breaker", "repo", "cache", "flagdoc", "tenants", "apikeys", "webhooks",
                "integrity"]),
    ("request", ["compress", "http", "stream", "auth", "api"]),
    ("policies", ["metrics", "ratelimit", "flags", "idempotency", "experiments", "audit",
                  "rebuild", "pipeline", "submit", "lifecycle", "live", "webhook_delivery",
                  "webhook_top", "reads"]),
    ("entry", ["admission", "serve"]),
]

CRATE_PATH = re.compile(r"\bcrate::(\w+)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}\s*;", re.S)
LINE_COMMENT = re.compile(r"//[^\n]*")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\])*"')


def module_of(src: Path, file: Path) -> str:
    rel = file.relative_to(src)
    return rel.parts[0].removesuffix(".rs")


def imports(text: str) -> set[str]:
    text = BLOCK_COMMENT.sub("", text)
    text = LINE_COMMENT.sub("", text)
    text = STRING.sub('""', text)
    found = set(CRATE_PATH.findall(text))
    for group in USE_GROUP.findall(text):
        # `use crate::{a::X, b, c::{d, e}}`: the first segment of each top-level item.
        depth, item = 0, ""
        for ch in group + ",":
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                name = item.strip().split("::")[0].strip()
                if name and name != "self":
                    found.add(name)
                item = ""
            else:
                item += ch
    return found


def graph(src: Path) -> dict[str, set[str]]:
    modules = {module_of(src, f) for f in src.rglob("*.rs")} - {"lib"}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for f in sorted(src.rglob("*.rs")):
        m = module_of(src, f)
        if m == "lib":
            continue
        edges[m] |= {d for d in imports(f.read_text()) if d in modules and d != m}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--quiet"]
    quiet = "--quiet" in sys.argv[1:]
    src = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "shared/edge/src"
    edges = graph(src)
    layer = {m: i for i, (_, ms) in enumerate(LAYERS) for m in ms}
    problems = []
    for m in sorted(edges):
        if m not in layer:
            problems.append(f"{m}: in no layer (add it to LAYERS in {Path(__file__).name})")
    for comp in cycles(edges):
        problems.append("import cycle: " + " <-> ".join(comp))
    for m in sorted(edges):
        for d in sorted(edges[m]):
            if m in layer and d in layer and layer[d] > layer[m]:
                problems.append(
                    f"{m} ({LAYERS[layer[m]][0]}) imports {d} ({LAYERS[layer[d]][0]}), a higher layer")
    if not quiet:
        for i, (name, ms) in enumerate(LAYERS):
            print(f"{i + 1}. {name}")
            for m in ms:
                if m in edges:
                    deps = ", ".join(sorted(edges[m])) or "-"
                    print(f"   {m:<12} -> {deps}")
    for p in problems:
        print(f"edge_layers: {p}", file=sys.stderr)
    if problems:
        return 1
    if not quiet:
        print(f"edge_layers: {len(edges)} modules, no cycle, no upward import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
