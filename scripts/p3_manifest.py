#!/usr/bin/env python3
"""Writes spin-p3.toml, the manifest of the WASIp3 build, from spin.toml.

The p3 manifest is spin.toml with each component's `source` in target/p3/ (where
`scripts/build.sh p3` puts the p3 components) and each `build.command` building that form: the
same routes, variables, stores and outbound hosts, so the two cannot drift apart. `--check`
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


def p3_manifest(p2: str) -> str:
    """The p3 manifest's text for the p2 manifest's."""
    sources = re.compile(r'^source = "target/wasm32-wasip2/release/([a-z0-9_-]+)\.wasm"$', re.M)
    if not sources.search(p2):
        raise SystemExit("p3_manifest: spin.toml names no component source")
    text = sources.sub(r'source = "target/p3/wasm32-wasip2/release/\1.wasm"', p2)
    commands = re.compile(
        r'^command = "cargo build --target wasm32-wasip2 --release -p ([a-z0-9_-]+)"$', re.M
    )
    text = commands.sub(
        r'command = "cargo build --target wasm32-wasip2 --release --target-dir target/p3 '
        r'--no-default-features --features \1/p3 -p \1"',
        text,
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
