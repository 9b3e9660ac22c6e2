#!/usr/bin/env python3
"""Checks the house's size rules on the workspace's production Rust code.

- A production file holds at most 500 lines (its `#[cfg(test)]` tail not counted).
- A production function holds at most 80 lines, from its `fn` line to its closing brace.

Production code is every `.rs` file under `shared/`, `functions/` and `host/src/`, but test code:
files named `tests.rs` or `*_tests.rs`, files under a `tests/` folder, the modules a parent
declares under `#[cfg(test)]` (`#[cfg(test)] mod limits;`), and everything from a line that is
`#[cfg(test)]` alone to the end of a file (where the test module goes). Functions are found by
their braces, with strings, raw strings, character literals and comments taken out first.

What may stay longer is named in `EXCEPTIONS` with its reason; an exception that no longer
applies (the function got shorter, or went) fails too, so the list stays true.

Usage: scripts/house.py [--list]   (--list: every production function over 60 lines, longest first)
"""

import re
import sys
from pathlib import Path

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


def blank_literals(text):
    """The text with strings, raw strings, character literals and comments blanked out (their
    newlines kept), so braces inside them do not count."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = '"' + hashes
            j = text.find(end, i + len(hashes) + 2)
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^'\\])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


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
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]":
            return lines[:i]
    return lines


def functions(lines):
    """(name, first line number, length) of each function with a body."""
    code = blank_literals("\n".join(lines)).split("\n")
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


def main():
    listing = "--list" in sys.argv[1:]
    failures, seen, long_ones = [], set(), []
    for rel, text in production_files():
        lines = production_lines(text)
        if len(lines) > MAX_FILE:
            failures.append(f"{rel}: {len(lines)} production lines (at most {MAX_FILE})")
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
