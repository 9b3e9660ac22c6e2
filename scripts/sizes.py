#!/usr/bin/env python3
"""What each Wasm component's code is: per-crate shares, and the base every API component carries.

Reads `twiggy top --format csv` of names-kept core modules (scripts/sizes.sh builds them) and
prints Markdown:

1. per component: the shipped (stripped) component's size, then the core module's code and data
   bytes, split by crate (a function counts for the crate its path starts with; a trait impl
   `<core::X as serde::Y>` for the trait's crate, so serde's generic code instantiated for std
   types is serde's);
2. the shared base: functions present in every API component, with the smallest size each has,
   by crate — the code each API component compiles again at start;
3. with `--compile FILE` (the JSON lines of `host/examples/compile_time.rs` for the shipped
   components): each component's core functions, code bytes and one-thread compile time, and
   their sum over the app's HTTP components (`--app`: what a start with an empty compile cache
   compiles);
4. the largest functions of one component (`--top COMPONENT`);
5. that component's serde code by the type it reads or writes and by the deserializer it was
   compiled for (the names carry generic arguments when built with `-C
   symbol-mangling-version=v0`, as scripts/sizes.sh does).

Usage: sizes.py SHIPPED_DIR PROBE_DIR COMPONENT... [--api A,B,...] [--app A,B,...] [--compile FILE]
       [--top COMPONENT]
"""

import collections
import csv
import json
import os
import re
import subprocess
import sys

# Crates grouped the way the lean-components work reads them.
GROUPS = [
    ("edge", ("edge",)),
    ("leaderboard", ("leaderboard",)),
    ("serde", ("serde", "serde_core", "serde_json", "serde_path_to_error", "zmij", "itoa")),
    ("std", ("core", "alloc", "std", "dlmalloc", "rustc_demangle", "hashbrown", "compiler_builtins")),
    ("spin-sdk", ("spin_sdk", "spin_executor", "wasi", "wit_bindgen", "wit_bindgen_rt", "http", "bytes",
                  "futures_util", "futures_core", "futures_channel", "futures_task", "anyhow", "fermyon")),
]
DATA = "(data)"


def crate_of(name):
    """The crate a function counts for."""
    n = re.sub(r"\[[0-9a-f]+\]", "", name)
    if n.startswith("<"):
        inner = re.sub(r"^<(&(mut )?)?", "", n)
        first = re.match(r"[A-Za-z_][A-Za-z0-9_]*", inner)
        trait = re.search(r" as ([A-Za-z_][A-Za-z0-9_]*)", n)
        first = first.group(0) if first else "?"
        if first in ("core", "alloc", "std") and trait:
            return trait.group(1)
        return first
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", n)
    return m.group(0) if m else "?"


def group_of(crate, component):
    if crate == DATA:
        return "data"
    if crate == component:
        return "own"
    for group, crates in GROUPS:
        if crate in crates:
            return group
    return "other"


def functions(probe):
    """{function name without hash: bytes} and the data bytes of one names-kept core module."""
    out = subprocess.run(["twiggy", "top", "-n", "10000000", "--format", "csv", probe],
                         check=True, capture_output=True, text=True).stdout
    funcs, data = collections.Counter(), 0
    for row in csv.DictReader(out.splitlines()):
        name, size = row["Name"], int(row["ShallowSize"])
        if name.startswith("data segment"):
            data += size
        elif name.startswith(("custom section", '"')) or name.startswith("import "):
            continue
        else:
            funcs[re.sub(r"::h[0-9a-f]{16}$", "", name)] += size
    return funcs, data


def serde_subject(name):
    """(the workspace type a serde function is for, the deserializer or serializer it serves)."""
    n = re.sub(r"\[[0-9a-f]+\]", "", name)
    ours = re.findall(r"\b((?:leaderboard|edge|jwt_compact|juniper|prost)::(?:[a-z_0-9]+::)*[A-Z][A-Za-z0-9_]*)", n)
    if ours:
        subject = ours[0]
    elif "value::Value" in n:
        subject = "serde_json::Value"
    else:
        subject = "(generic)"
    if "path_to_error" in n:
        via = "path_to_error"
    elif re.search(r"::<serde_json::value::Value>|ValueVisitor|value::de::", n):
        via = "from Value"
    elif "SliceRead" in n or "de::Deserializer<" in n:
        via = "from bytes"
    elif "::ser::" in n or "Serialize" in n:
        via = "serialize"
    else:
        via = "other"
    return subject, via


def leb128(b, i):
    """An unsigned LEB128 at `b[i]`: (value, next index)."""
    value, shift = 0, 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def core_code(path):
    """(functions, code section bytes) over the core modules a component embeds."""
    b = open(path, "rb").read()
    funcs = code = 0
    i = 8
    while i < len(b):
        section, i = b[i], i + 1
        size, i = leb128(b, i)
        if section == 1:  # a core module: walk its sections for the code section
            m, end = i + 8, i + size
            while m < end:
                inner, m = b[m], m + 1
                inner_size, m = leb128(b, m)
                if inner == 10:
                    funcs += leb128(b, m)[0]
                    code += inner_size
                m += inner_size
        i += size
    return funcs, code


def compile_table(shipped, comps, path, app):
    """Each component's functions, code and one-thread compile time, and their sum over `app`."""
    times = {}
    for line in open(path):
        row = json.loads(line)
        times[os.path.splitext(os.path.basename(row["file"]))[0]] = row["compile_s"]
    print()
    print("Compile time (wasmtime, one thread, best of three):")
    print()
    print("| component | functions | code KB | compile s |")
    print("| --- | ---: | ---: | ---: |")
    total = [0, 0, 0.0]
    for c in comps:
        if c not in times:
            continue
        funcs, code = core_code(os.path.join(shipped, f"{c}.wasm"))
        print(f"| {c} | {funcs:,} | {kb(code)} | {times[c]:.2f} |")
        if c in app:
            total = [total[0] + funcs, total[1] + code, total[2] + times[c]]
    print(f"| the app's HTTP components | {total[0]:,} | {kb(total[1])} | {total[2]:.2f} |")
    if total[1]:
        print()
        print(f"{total[2] / total[1] * 1e6:.2f} s per MB of code on one thread; a host compiles "
              "each component on all cores.")


def kb(n):
    return f"{n / 1000:,.0f}"


def main(argv):
    args, api, top, compiled, app = [], None, None, None, None
    it = iter(argv)
    for a in it:
        if a == "--api":
            api = next(it).split(",")
        elif a == "--top":
            top = next(it)
        elif a == "--compile":
            compiled = next(it)
        elif a == "--app":
            app = next(it).split(",")
        else:
            args.append(a)
    shipped, probe, comps = args[0], args[1], args[2:]
    cols = ["own", "edge", "leaderboard", "serde", "std", "spin-sdk", "other", "data"]
    print("| component | shipped KB | code + data KB | " + " | ".join(cols) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in cols) + " |")
    per = {}
    for c in comps:
        funcs, data = functions(os.path.join(probe, f"{c}.wasm"))
        per[c] = funcs
        groups = collections.Counter()
        for name, size in funcs.items():
            groups[group_of(crate_of(name), c)] += size
        groups["data"] += data
        size = os.path.getsize(os.path.join(shipped, f"{c}.wasm"))
        total = sum(groups.values())
        print(f"| {c} | {kb(size)} | {kb(total)} | " + " | ".join(kb(groups[g]) for g in cols) + " |")
    api = [c for c in (api or comps) if c in per]
    if len(api) > 1:
        common = set.intersection(*(set(per[c]) for c in api))
        base = {n: min(per[c][n] for c in api) for n in common}
        by = collections.Counter()
        for name, size in base.items():
            by[crate_of(name)] += size
        print()
        print(f"Shared base: {len(base):,} functions, {kb(sum(base.values()))} KB of code in each of "
              f"{', '.join(api)} (smallest size each). By crate:")
        print()
        print("| crate | KB |")
        print("| --- | ---: |")
        for crate, size in by.most_common(15):
            print(f"| {crate} | {kb(size)} |")
    if compiled:
        compile_table(shipped, comps, compiled, app or comps)
    if top and top in per:
        print()
        print(f"Largest functions of {top}:")
        print()
        print("| bytes | function |")
        print("| ---: | --- |")
        for name, size in per[top].most_common(25):
            print(f"| {size:,} | `{name[:120]}` |")
        by_subject, by_via = collections.Counter(), collections.Counter()
        for name, size in per[top].items():
            if "serde" not in name:
                continue
            subject, via = serde_subject(name)
            by_subject[subject] += size
            by_via[via] += size
        print()
        print(f"Serde code of {top}: {kb(sum(by_via.values()))} KB; by use: "
              + ", ".join(f"{via} {kb(size)}" for via, size in by_via.most_common()) + ". By type:")
        print()
        print("| KB | type |")
        print("| ---: | --- |")
        for subject, size in by_subject.most_common(20):
            print(f"| {kb(size)} | `{subject}` |")


if __name__ == "__main__":
    main(sys.argv[1:])
