#!/usr/bin/env python3
"""Writes spin-p3.toml, the manifest of the WASIp3 build, from spin.toml.

The p3 manifest is spin.toml with each component's `source` in target/p3/ (where
`scripts/build.sh p3` puts the p3 components) and each `build.command` building that form: the
same routes, variables, stores and outbound hosts, so the two cannot drift apart. Left out: the
components only service chaining reaches (`tokens`, a private route), and every
`http://*.spin.internal` outbound host: Spin 4.0.2 does not chain p3 components, so the p3 build
does their work in process (docs/runtimes.md). `--check`
fails (exit 1) when the committed spin-p3.toml is not what spin.toml makes.

    python3 scripts/p3_manifest.py          # rewrite spin-p3.toml
    python3 scripts/p3_manifest.py --check  # verify it (scripts/test.sh)
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADER = """# GENERATED from spin.toml by scripts/p3_manifest.py: edit spin.toml, then run the script.
#
# The HTTP API built for WASIp3 (spin-sdk 6.0, `scripts/build.sh p3`): Spin 4.0.x only. Same
# routes, variables and stores as spin.toml; `EDGE_BUILD=p3 scripts/up.sh` serves it. See
# docs/runtimes.md for which build to deploy where.

"""


# Components only service chaining reaches: not in the p3 manifest.
CHAINED_ONLY = ("tokens",)


def without_chained_only(text: str) -> str:
    """`text` without the trigger and the sections of the CHAINED_ONLY components: the
    paragraphs (blank-line separated, comments included) whose table is one of theirs."""
    kept = []
    for paragraph in text.split("\n\n"):
        header = next((l for l in paragraph.splitlines() if l.startswith("[")), "")
        chained = any(
            header.startswith((f"[component.{c}]", f"[component.{c}."))
            or (header == "[[trigger.http]]" and f'component = "{c}"' in paragraph)
            for c in CHAINED_ONLY
        )
        if not chained:
            kept.append(paragraph)
    return "\n\n".join(kept).rstrip("\n") + "\n"


def p3_manifest(p2: str) -> str:
    """The p3 manifest's text for the p2 manifest's."""
    text = without_chained_only(p2)
    components = re.findall(r"(?m)^\[component\.([a-z0-9_-]+)\]$", text)
    left = [c for c in CHAINED_ONLY if c in components]
    if left:
        raise SystemExit(f"p3_manifest: {left} still in the p3 manifest: spin.toml's shape changed")
    # Nor may a p3 component reach them: no `*.spin.internal` outbound host. Only one-line
    # `allowed_outbound_hosts = [...]` arrays are rewritten; any other mention is an error.
    one_line = re.compile(r"^allowed_outbound_hosts = \[(.*)\]$")
    internal = re.compile(r'"https?://[^"]*\.spin\.internal(:[0-9*]+)?"')
    lines = []
    for line in text.splitlines(keepends=True):
        hosts = one_line.match(line.rstrip("\n"))
        if hosts:
            kept_hosts = [
                h.strip() for h in hosts.group(1).split(",")
                if h.strip() and not internal.fullmatch(h.strip())
            ]
            line = "allowed_outbound_hosts = [" + ", ".join(kept_hosts) + "]\n"
        lines.append(line)
    text = "".join(lines)
    # Any mention left on a line that is not a comment (a multi-line array, a variable's default)
    # is one the rewrite above did not handle.
    if any("spin.internal" in l for l in lines if not l.lstrip().startswith("#")):
        raise SystemExit("p3_manifest: a *.spin.internal host is left: spin.toml's shape changed")
    sources = re.compile(r'^source = "target/wasm32-wasip2/release/([a-z0-9_-]+)\.wasm"$', re.M)
    text, n_sources = sources.subn(r'source = "target/p3/wasm32-wasip2/release/\1.wasm"', text)
    commands = re.compile(
        r'^command = "cargo build --target wasm32-wasip2 --release -p ([a-z0-9_-]+)"$', re.M
    )
    text, n_commands = commands.subn(
        r'command = "cargo build --target wasm32-wasip2 --release --target-dir target/p3 '
        r'--no-default-features --features \1/p3 -p \1"',
        text,
    )
    # Every component must have been rewritten: a `source` or `command` line of another shape
    # would leave a p2 component in the p3 manifest unnoticed.
    if not components or not len(components) == n_sources == n_commands:
        raise SystemExit(
            f"p3_manifest: {len(components)} components, {n_sources} sources and "
            f"{n_commands} build commands rewritten: spin.toml's shape changed"
        )
    return HEADER + text


def main() -> int:
    wanted = p3_manifest((ROOT / "spin.toml").read_text())
    target = ROOT / "spin-p3.toml"
    if sys.argv[1:] == ["--check"]:
        if not target.exists() or target.read_text() != wanted:
            print(
                "p3_manifest: spin-p3.toml is not what spin.toml makes: "
                "run python3 scripts/p3_manifest.py",
                file=sys.stderr,
            )
            return 1
        print("p3_manifest: spin-p3.toml matches spin.toml")
        return 0
    target.write_text(wanted)
    print("p3_manifest: wrote spin-p3.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
