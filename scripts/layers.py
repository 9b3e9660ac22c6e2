#!/usr/bin/env python3
"""Lists the `crate::` imports of each module of the workspace's layered crates and checks them.

For each crate in `CRATES` the script reads every `.rs` file under its `src/`, finds the modules
each one names through `crate::`, `super::`, `self::` or a module it declares (`mod p2;` …
`p2::…`), in `use` lines, groups included, and in paths inside the code (comments, strings and
glob imports are ignored), and fails when

- two or more modules import each other in a circle (a strongly connected component; a
  folder's `mod.rs` using its own children is none), or
- a module imports a module of a higher layer (each crate's layers are below, bottom first, as
  its crate doc comment states them), or
- a module is in no layer (a new module must say where it stands), or
- a crate that names its capabilities (the top-level folders `shared/edge` is cut into) has an
  import from one capability into another that is not among the first's declared arrows,
  declares an arrow that no import uses, or has a room in its capabilities layer whose arrows
  are not declared (or the reverse), or
- a name is in two layers.

A call of a method that a crate's `method_types` (edge: `Repo`, `Keys`) get in another module
counts as an import of that module: a call on a value named `repo` (`ctx.repo().await?` too) or
`keys`, or on `self` inside the type's own `impl` blocks (a value named otherwise is not seen).

A crate's modules are its files down to `depth` folders: at `depth` 1 a top-level folder and its
files are one module (`repo`); at 2 or more each file is one (`board/config.rs` is
`board::config`), a folder's `mod.rs` is the folder, deeper files belong to the folder at the
depth, and `config_tests.rs` belongs to `config`. A layer names rooms (`board`, every module in
it) or single modules (`flags::doc`); the longest name that holds a module places it.

Usage: scripts/layers.py [--quiet] [CRATE ...]   (default: every crate below)
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CRATES = {
    # The pure core: its rooms, bottom first (shared/leaderboard/src/lib.rs, "The map").
    "leaderboard": {
        "src": "shared/leaderboard/src",
        "depth": 2,
        "layers": [
            ("base", ["error", "conflict", "ids", "time", "negotiate"]),
            ("competition", ["competition"]),
            ("board", ["board"]),
            ("integrity", ["integrity"]),
            ("events", ["events"]),
            ("policy", ["policy"]),
            ("outbound", ["outbound"]),
            ("http", ["http"]),
        ],
    },
    # The Spin adapters (shared/edge/src/lib.rs): a base in four layers, the capabilities above
    # it (the stores the request's context reads ahead stand lower), the entry on top.
    "edge": {
        "src": "shared/edge/src",
        "depth": 3,
        # Methods every capability adds to these types: a call of one is an import of its module.
        "method_types": ["Repo", "Keys"],
        "layers": [
            ("platform", ["platform", "message", "redis_error", "cluster", "kv", "scope", "secrets", "settings",
                          "outbound"]),
            ("link", ["breaker", "stall", "repo", "cache", "schedule"]),
            ("stores", ["tenants", "flags::doc", "flags::store"]),
            ("request", ["compress", "http", "stream", "auth", "api", "metrics", "audit", "ratelimit"]),
            ("capabilities", ["boards", "submissions", "reads", "competitions", "webhooks", "flags", "live",
                              "integrity", "tenants::routes", "tenants::apikeys::routes"]),
            # A stream's route admits its request itself (the others are admitted by their router).
            ("entry", ["admission", "serve", "live::routes"]),
        ],
        # Which capability may import which (an import between two capabilities that is not
        # here fails, and so does an arrow here that no import uses).
        "capabilities": {
            "boards": ["competitions", "submissions", "webhooks"],
            "competitions": ["boards", "flags", "integrity", "reads", "submissions", "webhooks"],
            "flags": [],
            "integrity": ["boards", "competitions", "reads", "submissions"],
            "live": ["boards", "competitions", "reads"],
            "reads": ["boards", "competitions", "flags", "submissions"],
            "submissions": ["boards", "competitions", "flags", "integrity", "webhooks"],
            "tenants": ["boards"],
            "webhooks": ["boards", "competitions", "reads"],
        },
    },
    # edge-host (host/src/lib.rs).
    "host": {
        "src": "host/src",
        "depth": 1,
        "layers": [
            ("parts", ["allowed_hosts", "compiled", "config", "grants", "kv", "manifest", "problem", "redis_pool",
                       "routing", "runtime_config", "variables"]),
            ("outbound", ["outbound"]),
            ("state", ["state"]),
            ("interfaces", ["interfaces"]),
            ("app", ["app"]),
            ("entry", ["server", "redis_trigger"]),
        ],
    },
}

USE = re.compile(r"\buse\s+crate::([^;]*);", re.S)
CRATE_PATH = re.compile(r"\bcrate::(\w+(?:::\w+)*)")
# Paths relative to the file's own module: `super::…` (any number) and `self::…`.
USE_RELATIVE = re.compile(r"\buse\s+((?:super::)+|self::)([^;]*);", re.S)
RELATIVE_PATH = re.compile(r"(?<![\w:])((?:super::)+|self::)(\w+(?:::\w+)*)")
RAW_STRING = re.compile(r'b?r(#*)"')


def code_only(text: str) -> str:
    """The text with comments, string and char literals blanked, in one pass (a `//` inside a
    string is no comment, a `"` inside a comment or a char literal opens no string); lifetimes
    (`'a`) stay, and so do the newlines of what is blanked (line numbers hold: scripts/house.py
    counts lines on it)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            start, depth, i = i, 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" " + "\n" * text.count("\n", start, i))
            continue
        raw = RAW_STRING.match(text, i) if c in "br" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) else None
        if raw:
            end = text.find('"' + raw.group(1), raw.end())
            start, i = i, n if end < 0 else end + 1 + len(raw.group(1))
            out.append('""' + "\n" * text.count("\n", start, i))
            continue
        if c == '"':
            start, i = i, i + 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""' + "\n" * text.count("\n", start, i))
            continue
        if c == "'":
            if text.startswith("\\", i + 1):
                end = text.find("'", i + 2)
                i = n if end < 0 else end + 1
                out.append("' '")
                continue
            if i + 2 < n and text[i + 2] == "'":
                i += 3
                out.append("' '")
                continue
        out.append(c)
        i += 1
    return "".join(out)


def expand(tree: str) -> list[str]:
    """`a::{b::C, d}` → ["a::b::C", "a::d"]: every path a `use` tree names."""
    tree = tree.strip()
    if "{" not in tree:
        return [tree] if tree else []
    head, _, rest = tree.partition("{")
    body = rest[: rest.rindex("}")]
    items, depth, item = [], 0, ""
    for ch in body + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(item)
            item = ""
        else:
            item += ch
    out = []
    for it in items:
        for sub in expand(it):
            sub = sub.split(" as ")[0].strip()
            if sub == "self":
                out.append(head.rstrip(":"))
            elif sub:
                out.append(head + sub)
    return out


def paths(text: str) -> set[str]:
    text = code_only(text)
    found = set()
    for tree in USE.findall(text):
        found.update(expand(tree))
    found.update(CRATE_PATH.findall(text))
    return found


def relative_paths(text: str, module: list[str]) -> set[str]:
    """The `super::`/`self::` paths of a file whose module is `module` (its full path), as paths
    from the crate root. A glob (`use super::*`, a tests module's) names no module."""
    text = code_only(text)
    found = set()
    pairs = [(prefix, tree) for prefix, tree in USE_RELATIVE.findall(text)]
    pairs += RELATIVE_PATH.findall(text)
    for prefix, tree in pairs:
        up = prefix.count("super::")
        if up > len(module):
            continue
        base = module[: len(module) - up]
        for sub in expand(tree):
            sub = sub.split(" as ")[0].strip()
            if not sub or "*" in sub or sub == "self":
                continue
            found.add("::".join(base + sub.split("::")))
    return found


CHILD_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)


def child_paths(text: str, module: list[str]) -> set[str]:
    """The paths a file names through the modules it declares (`mod p2;` … `p2::serve`, `use
    decide::decide`), as paths from the crate root."""
    code = code_only(text)
    found = set()
    for child in CHILD_MOD.findall(code):
        trees = re.findall(r"\buse\s+" + child + r"::([^;]*);", code, re.S)
        trees += re.findall(r"(?<![\w:])" + child + r"::(\w+(?:::\w+)*)", code)
        for tree in trees:
            for sub in expand(tree):
                sub = sub.split(" as ")[0].strip()
                if sub and "*" not in sub:
                    found.add("::".join(module + [child] + ([] if sub == "self" else sub.split("::"))))
    return found


def full_module(src: Path, file: Path) -> list[str]:
    """The file's module path (`board/config.rs`: board, config; a folder's `mod.rs` is the
    folder; `config_tests.rs` is `config`'s tests module: it belongs to `config`)."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts and parts[-1].endswith("_tests"):
        parts[-1] = parts[-1].removesuffix("_tests")
    return parts


def module_of(src: Path, file: Path, depth: int) -> str:
    return "::".join(full_module(src, file)[:depth])


IMPL = re.compile(r"^\s*impl(?:<[^{]*?>)?\s+([\w:]+)(?:<[^{]*?>)?\s*(?:where[^{]*)?\{", re.M)
FN = re.compile(r"\bfn\s+(\w+)")
SELF_CALL = re.compile(r"\bself\s*\.\s*(\w+)\s*(?:::<[^>]*>)?\(")
# How the code names a value of each type it calls methods on: `repo.m(`, `ctx.repo().await?.m(`,
# `keys.m(` (and `self.m(` inside the type's own `impl` blocks).
RECEIVERS = {
    "Repo": re.compile(r"\brepo(?:\(\))?\s*(?:\.await\?)?\s*\.\s*(\w+)\s*(?:::<[^>]*>)?\("),
    "Keys": re.compile(r"\bkeys\s*\.\s*(\w+)\s*(?:::<[^>]*>)?\("),
}


def impl_blocks(text: str):
    """The inherent and trait `impl` blocks of a file's code: (type name, start, end)."""
    for im in IMPL.finditer(text):
        i, depth = im.end(), 1
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        yield im.group(1).split("::")[-1], im.end(), i


def method_edges(texts: dict[str, str], types: list[str]) -> dict[str, set[str]]:
    """For each module, the modules whose methods of `types` (`impl` blocks anywhere in the
    crate) it calls, on a value named as `RECEIVERS` says, or on `self` in the type's blocks."""
    owners: dict[str, dict[str, set[str]]] = {ty: {} for ty in types}
    blocks = {m: list(impl_blocks(text)) for m, text in texts.items()}
    for m, text in texts.items():
        for ty, start, end in blocks[m]:
            if ty in owners:
                for f in FN.finditer(text, start, end):
                    owners[ty].setdefault(f.group(1), set()).add(m)
    out: dict[str, set[str]] = {m: set() for m in texts}
    for m, text in texts.items():
        for ty, pattern in RECEIVERS.items():
            if ty in owners:
                for name in pattern.findall(text):
                    out[m] |= owners[ty].get(name, set())
        for ty, start, end in blocks[m]:
            if ty in owners:
                for name in SELF_CALL.findall(text, start, end):
                    out[m] |= owners[ty].get(name, set())
        out[m].discard(m)
    return out


def graph(src: Path, depth: int, method_types: list[str] | None = None) -> dict[str, set[str]]:
    files = [f for f in sorted(src.rglob("*.rs"))]
    modules = {module_of(src, f, depth) for f in files} - {"lib", "main"}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    texts = {}
    for f in files:
        m = module_of(src, f, depth)
        if m in ("lib", "main"):
            continue
        text = f.read_text()
        texts[m] = texts.get(m, "") + "\n" + code_only(text)
        module = full_module(src, f)
        for p in paths(text) | relative_paths(text, module) | child_paths(text, module):
            segs = p.split("::")
            for n in range(min(depth, len(segs)), 0, -1):
                target = "::".join(segs[:n])
                if target in modules:
                    if target != m:
                        edges[m].add(target)
                    break
    # A call of a method another module defines on a shared type (`Repo`, `Keys`) names no path.
    if method_types:
        for m, targets in method_edges(texts, method_types).items():
            edges[m] |= targets
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


def check(name: str, spec: dict, quiet: bool) -> list[str]:
    edges = graph(ROOT / spec["src"], spec["depth"], spec.get("method_types"))
    layers = spec["layers"]
    # A module's layer: the layer naming it, or its room.
    layer_of_name = {m: i for i, (_, ms) in enumerate(layers) for m in ms}
    named = [m for _, ms in layers for m in ms]
    problems = [f"{m}: named in two layers" for m in sorted({m for m in named if named.count(m) > 1})]

    def layer(m: str):
        # The longest name that is the module or holds it (`flags::doc` before `flags`).
        segs = m.split("::")
        for n in range(len(segs), 0, -1):
            if "::".join(segs[:n]) in layer_of_name:
                return layer_of_name["::".join(segs[:n])]
        return None

    for m in sorted(edges):
        if layer(m) is None:
            problems.append(f"{m}: in no layer (add it to {name}'s layers in {Path(__file__).name})")
    # A folder's `mod.rs` may use its own children (re-exports, `mod p2;` … `p2::…`): no circle
    # with the children that use it; the layers still hold for it.
    upward = {m: {d for d in ds if not d.startswith(m + "::")} for m, ds in edges.items()}
    for comp in cycles(upward):
        problems.append("import cycle: " + " <-> ".join(comp))
    for m in sorted(edges):
        for d in sorted(edges[m]):
            lm, ld = layer(m), layer(d)
            if lm is not None and ld is not None and ld > lm:
                problems.append(f"{m} ({layers[lm][0]}) imports {d} ({layers[ld][0]}), a higher "
                                "layer")
    caps = spec.get("capabilities", {})
    if caps:
        # Every room with a module in the capabilities layer has its arrows declared, and no
        # other room is declared one.
        in_layer = {m.split("::")[0] for lname, ms in layers if lname == "capabilities" for m in ms}
        for room in sorted(in_layer ^ set(caps)):
            problems.append(f"capability {room}: in the capabilities layer and its arrows, or in "
                            "neither (both lists are in this script)")
    used: set[tuple[str, str]] = set()
    for m in sorted(edges):
        for d in sorted(edges[m]):
            rm, rd = m.split("::")[0], d.split("::")[0]
            if rm == rd or rm not in caps or rd not in caps:
                continue
            used.add((rm, rd))
            if rd not in caps[rm]:
                problems.append(f"{m} (capability {rm}) imports {d} (capability {rd}): not an arrow "
                                f"of {rm} (add it in {Path(__file__).name}, or keep {rm} off {rd})")
    for rm, allowed in sorted(caps.items()):
        for rd in allowed:
            if (rm, rd) not in used:
                problems.append(f"capability {rm}: the arrow to {rd} is declared, no import uses it")
    if not quiet:
        print(f"{name} ({spec['src']})")
        for i, (lname, _) in enumerate(layers):
            print(f"  {i + 1}. {lname}")
            for m in sorted(x for x in edges if layer(x) == i):
                print(f"     {m:<28} -> {', '.join(sorted(edges[m])) or '-'}")
        if caps:
            print("  capabilities:")
            for rm in sorted(caps):
                print(f"     {rm:<28} -> {', '.join(sorted(caps[rm])) or '-'}")
    if not problems:
        arrows = f", {len(used)} arrows between {len(caps)} capabilities" if caps else ""
        print(f"layers: {name}: {len(edges)} modules, no cycle, no upward import{arrows}")
    return [f"{name}: {p}" for p in problems]


def self_test() -> None:
    """What the lexer must get right: each case once fooled a regex-based stripper."""
    cases = [
        ('let u = "https://x"; crate::a::f();', {"a::f"}),
        ("let q = '\"'; crate::b::g(); // crate::c", {"b::g"}),
        ('let r = r#"crate::d "quoted" "#; crate::e::h();', {"e::h"}),
        ("fn f<'a>(x: &'a str) { crate::f::i(x) } /* crate::g /* nested */ crate::h */", {"f::i"}),
        ("let c = '\\\\'; let d = b'x'; crate::k::l();", {"k::l"}),
    ]
    for text, want in cases:
        got = paths(text)
        assert got == want, f"{text!r}: {got} != {want}"


def main() -> int:
    self_test()
    args = [a for a in sys.argv[1:] if a != "--quiet"]
    quiet = "--quiet" in sys.argv[1:]
    unknown = [a for a in args if a not in CRATES]
    if unknown:
        print(__doc__, file=sys.stderr)
        return 2
    problems = []
    for name in args or CRATES:
        problems += check(name, CRATES[name], quiet)
    for p in problems:
        print(f"layers: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
