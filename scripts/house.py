#!/usr/bin/env python3
"""Checks the house's size rules on the workspace's production Rust code.

- A production file holds at most 500 lines (its `#[cfg(test)]` tail not counted).
- A production function holds at most 80 lines, from its `fn` line to its closing brace.
- Every workspace member has its own `[profile.dev.package.<name>]` in Cargo.toml: our crates
  build unoptimised, with their debug checks and line tables, under a `[profile.dev]` that
  optimises dependencies (a member left out would build as a dependency does).
- No doc comment holds a Rust code block (a fence with no language, or `rust`): the lib crates
  are built with `doctest = false` (the test run would compile none), so an example is marked
  `text` or `ignore` and says nothing a test does not check.

Production code is every `.rs` file under `shared/`, `functions/` and `host/src/`, but test code:
files named `tests.rs` or `*_tests.rs`, files under a `tests/` folder, the modules a parent
declares under `#[cfg(test)]` (`#[cfg(test)] mod limits;`), and each item a `#[cfg(test)]` line
gates (a `mod tests { … }` block, a helper, a `use`). Functions are found by
their braces, with strings, raw strings, character literals and comments taken out first
(`layers.code_only`).

What may stay longer is named in `EXCEPTIONS` with its reason; an exception that no longer
applies (the function got shorter, or went) fails too, so the list stays true.

Usage: scripts/house.py [--list]   (--list: every production function over 60 lines, longest first)
"""

import re
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layers import code_only  # noqa: E402  (comments and literals blanked, lines kept)

ROOT = Path(__file__).resolve().parent.parent
ROOTS = ["shared", "functions", "host/src"]
MAX_FILE = 500
MAX_FN = 80

# (path, function) -> why it stays longer.
EXCEPTIONS = {
    ("shared/leaderboard/src/http/i18n/titles.rs", "catalogue"): (
        "a table: one row per problem type, its title in six languages"
    ),
    ("shared/leaderboard/src/http/i18n/details.rs", "details"): (
        "a table: one row per problem type, its detail in five languages"
    ),
    ("shared/leaderboard/src/policy/jsonlogic/eval.rs", "eager"): (
        "a dispatch table: one arm per JSONLogic operator, each a line or two"
    ),
    ("shared/leaderboard/src/http/dashboard.rs", "render"): (
        "one HTML document, written out in order"
    ),
}

FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")
CFG_TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")


def test_modules():
    """Files that a parent declares as `#[cfg(test)] mod name;`."""
    skip = set()
    for root in ROOTS:
        for path in (ROOT / root).rglob("*.rs"):
            if "target" in path.parts:
                continue
            for name in CFG_TEST_MOD.findall(path.read_text(encoding="utf-8")):
                folder = path.parent if path.name in ("mod.rs", "lib.rs", "main.rs") else path.with_suffix("")
                skip.add(folder / f"{name}.rs")
                skip.add(folder / name / "mod.rs")
    return skip


def production_files():
    skip = test_modules()
    for root in ROOTS:
        for path in sorted((ROOT / root).rglob("*.rs")):
            rel = path.relative_to(ROOT)
            if "target" in rel.parts or "tests" in rel.parts or path in skip:
                continue
            if path.name == "tests.rs" or path.name.endswith("_tests.rs"):
                continue
            yield rel, path.read_text(encoding="utf-8")


def production_lines(text):
    """The file's lines with its test items as `None` (so line numbers hold):
    each item gated by a `#[cfg(test)]` line — a `mod tests { … }` block, a test helper, a
    `mod name;` or `use …;` — found by its braces on the code alone."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    code = code_only("\n".join(lines)).split("\n")
    out = list(lines)
    i = 0
    while i < len(lines):
        if lines[i].strip() != "#[cfg(test)]":
            i += 1
            continue
        j = i + 1
        while j < len(lines) and code[j].strip().startswith("#["):
            j += 1
        depth, opened, k = 0, False, j
        while k < len(lines):
            for ch in code[k]:
                if ch == "{":
                    depth, opened = depth + 1, True
                elif ch == "}":
                    depth -= 1
            if (opened and depth <= 0) or (not opened and code[k].rstrip().endswith(";")):
                break
            k += 1
        for m in range(i, min(k, len(lines) - 1) + 1):
            out[m] = None
        i = k + 1
    return out


def counted(lines):
    """How many lines count: the test items do not."""
    return sum(1 for line in lines if line is not None)


def functions(lines):
    """(name, first line number, length) of each function with a body."""
    code = code_only("\n".join(line or "" for line in lines)).split("\n")
    i = 0
    while i < len(code):
        m = FN.match(code[i])
        if not m:
            i += 1
            continue
        depth, j, opened = 0, i, False
        while j < len(code):
            for ch in code[j]:
                if ch == "{":
                    depth += 1
                    opened = True
                elif ch == "}":
                    depth -= 1
            if opened and depth <= 0:
                break
            if not opened and code[j].rstrip().endswith(";"):
                break
            j += 1
        if opened:
            yield m.group(1), i + 1, j - i + 1
            i = j + 1
        else:
            i += 1


DOC_LINE = re.compile(r"^\s*//[/!]")
DOC_FENCE = re.compile(r"^\s*//[/!]\s*(```|~~~)\s*(.*)$")
DOC_ROOTS = ["shared", "functions", "host", "tests/app/src"]
# Words of a fence's info string that rustdoc still compiles and runs as Rust.
RUST_WORDS = re.compile(r"^(rust|no_run|should_panic|compile_fail|test_harness|standalone_crate|edition\d+)?$")


def is_rust(info):
    """Whether rustdoc takes a block with this info string as a doctest."""
    words = [w for w in re.split(r"[,\s]+", info.strip()) if w]
    return "ignore" not in words and all(RUST_WORDS.match(w) for w in words)


def doc_fences():
    """Doc comments' code blocks that rustdoc would take as doctests: `path:line` each. (Blocks
    written `/** */`, `#[doc = ...]` or indented by four spaces are not looked for: the code has
    none.)"""
    found = []
    for root in DOC_ROOTS:
        for path in sorted((ROOT / root).rglob("*.rs")):
            if "target" in path.parts:
                continue
            inside = False
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not DOC_LINE.match(line):
                    inside = False
                    continue
                fence = DOC_FENCE.match(line)
                if not fence:
                    continue
                if not inside and is_rust(fence.group(2)):
                    found.append(f"{path.relative_to(ROOT)}:{n}")
                inside = not inside
    return found


# What each member's profile sets (our crates as Cargo's own `dev` builds them).
MEMBER_PROFILE = {
    "opt-level": 0,
    "debug": "line-tables-only",
    "debug-assertions": True,
    "overflow-checks": True,
}


def member_profiles():
    """Each workspace member whose `[profile.dev.package.<name>]` is missing or differs."""
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
    named = workspace["profile"]["dev"].get("package", {})
    if "*" in named:
        yield (
            'Cargo.toml: [profile.dev.package."*"] outranks [profile.dev.build-override] and would '
            "optimise every build-time unit: set the dependencies' profile in [profile.dev]"
        )
    for member in workspace["workspace"]["members"]:
        name = tomllib.loads((ROOT / member / "Cargo.toml").read_text())["package"]["name"]
        if named.get(name) != MEMBER_PROFILE:
            yield (
                f"Cargo.toml: [profile.dev.package.{name}] (workspace member {member}) must set "
                f"exactly {MEMBER_PROFILE}"
            )


def main():
    listing = "--list" in sys.argv[1:]
    failures, seen, long_ones = [], set(), []
    failures.extend(member_profiles())
    for at in doc_fences():
        failures.append(
            f"{at}: a Rust code block in a doc comment (no doctest runs: mark it text or ignore)"
        )
    for rel, text in production_files():
        lines = production_lines(text)
        if counted(lines) > MAX_FILE:
            failures.append(f"{rel}: {counted(lines)} production lines (at most {MAX_FILE})")
        for name, line, length in functions(lines):
            long_ones.append((length, f"{rel}:{line}", name))
            key = (str(rel), name)
            if length <= MAX_FN:
                continue
            if key in EXCEPTIONS:
                seen.add(key)
                continue
            failures.append(
                f"{rel}:{line}: fn {name} is {length} lines (at most {MAX_FN}; split it, or name "
                "it in scripts/house.py EXCEPTIONS with why)"
            )
    for key in EXCEPTIONS:
        if key not in seen:
            failures.append(f"{key[0]}: fn {key[1]} is an exception but no longer over {MAX_FN} lines: drop it")
    if listing:
        for length, at, name in sorted(long_ones, reverse=True):
            if length > 60:
                print(f"{length:4} {at} {name}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
