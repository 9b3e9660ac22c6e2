#!/usr/bin/env python3
"""Runs the README's walk-through as a new user pastes it, and checks what it shows.

The walk-through is every ```sh block of README.md that follows a `<!-- walk-through` comment
line, in order, in one bash (as one terminal would run them; `scripts/setup.sh` lines are left
out: the caller has run it). The block starts the app itself (`scripts/up.sh --background`), on a
fresh throwaway Redis and a fresh KV store, on a free port (SPIN_HTTP_LISTEN_ADDR; the README's
`127.0.0.1:3000` is replaced by it in the commands and the outputs shown), with its log and pid in a temporary UP_DIR; the app is stopped at the end
whatever happened.

A line `#> TEXT` after a command is output the README shows: each TEXT must match a whole line
(indentation included) that the commands since the previous `#>` lines printed, in order (`…`
stands for any text). A command that
fails fails the check (bash -e), with its output.

Usage: readme_check.py edge-host|spin|length
  edge-host: serves with the edge-host binary the tests built (target/debug/edge-host, or
             EDGE_HOST_BIN), with UP_RUNTIME=edge-host; spin: with SPIN_BIN.
  length:    only checks that the README is a page a newcomer reads: at most MAX_LINES lines
             (the rest belongs in docs/).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api_fuzz import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ADDRESS = "127.0.0.1:3000"
MARK = "@@readme-step@@"
# scripts/up.sh gives up (and shows its log) well before the whole walk-through is cut off.
UP_WAIT_SECS = 600
TIMEOUT_SECS = 900
# The README is a page: what it is, the two commands, a first walk-through, the API map, the
# layout and links. Details go to docs/.
MAX_LINES = 250


def walk_through(text: str) -> list[str]:
    """The lines of the walk-through's blocks, in order."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("<!-- walk-through") and i + 1 < len(lines) \
                and lines[i + 1].strip() == "```sh":
            i += 2
            while i < len(lines) and lines[i].strip() != "```":
                out.append(lines[i])
                i += 1
        i += 1
    return out


def steps(lines: list[str]) -> tuple[str, list[list[str]]]:
    """The script with a marker after each group of commands that has `#>` lines, and the
    expected lines of each group."""
    script: list[str] = []
    expected: list[list[str]] = []
    for line in lines:
        if line.startswith("scripts/setup.sh"):
            continue
        if line.startswith("#>"):
            if not script or not script[-1].startswith(f"echo {MARK}"):
                script.append(f"echo {MARK}")
                expected.append([])
            expected[-1].append(line[3:].rstrip())
        else:
            script.append(line)
    return "\n".join(script) + "\n", expected


def pattern(shown: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in shown.split("…")))


def compare(output: str, expected: list[list[str]]) -> list[str]:
    """What the output lacks of the expected lines (empty: all there)."""
    parts = output.split(MARK + "\n")
    problems = []
    for n, shown in enumerate(expected):
        got = parts[n].splitlines() if n < len(parts) else []
        at = 0
        for line in shown:
            want = pattern(line)
            while at < len(got) and not want.fullmatch(got[at].rstrip()):
                at += 1
            if at == len(got):
                problems.append(f"step {n + 1}: no line like {line!r} in:\n  "
                                + "\n  ".join(got or ["(nothing)"]))
                break
            at += 1
    return problems


def check_length() -> int:
    count = len(README.read_text(encoding="utf-8").splitlines())
    if count > MAX_LINES:
        print(f"readme_check: README.md has {count} lines, more than {MAX_LINES}: move details "
              "to docs/ and link them", file=sys.stderr)
        return 1
    print(f"readme_check: README.md has {count} lines (at most {MAX_LINES})", flush=True)
    return 0


def main() -> int:
    runtime = sys.argv[1] if len(sys.argv) > 1 else ""
    if runtime == "length":
        return check_length()
    if runtime not in ("edge-host", "spin"):
        print(__doc__, file=sys.stderr)
        return 2
    lines = walk_through(README.read_text(encoding="utf-8"))
    text = "\n".join(lines)
    if "scripts/up.sh --background" not in text or ADDRESS not in text:
        print("readme_check: the walk-through no longer starts the app on "
              f"{ADDRESS} with scripts/up.sh --background", file=sys.stderr)
        return 1
    address = f"127.0.0.1:{free_port()}"
    script, expected = steps([line.replace(ADDRESS, address) for line in lines])
    expected = [[line.replace(ADDRESS, address) for line in group] for group in expected]

    work = Path(tempfile.mkdtemp(prefix="readme-"))
    (work / "runtime-config.toml").write_text(
        f'[key_value_store.default]\ntype = "spin"\npath = "{work}/kv.db"\n')
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "SPIN_BIN", "RUNTIME_CONFIG", "EDGE_HOST_BIN", "UP_RUNTIME")
           and not k.startswith("SPIN_VARIABLE_")}
    env.update(UP_DIR=str(work / "up"), RUNTIME_CONFIG=str(work / "runtime-config.toml"),
               SPIN_HTTP_LISTEN_ADDR=address, UP_WAIT_SECS=str(UP_WAIT_SECS))
    if runtime == "spin":
        spin = os.environ.get("SPIN_BIN") or shutil.which("spin")
        if not spin:
            print("readme_check: no Spin CLI (SPIN_BIN or spin on PATH)", file=sys.stderr)
            return 2
        env["SPIN_BIN"] = spin
    else:
        env["EDGE_HOST_BIN"] = os.environ.get("EDGE_HOST_BIN") \
            or str(ROOT / "target/debug/edge-host")
        env["UP_RUNTIME"] = "edge-host"
    (work / "walk-through.sh").write_text(script)
    print(f"readme_check: the README's walk-through on {runtime} ({len(expected)} shown "
          f"outputs)", flush=True)
    # Its own session, so a timeout ends every process it started (a curl, the launcher).
    started = time.monotonic()
    proc = subprocess.Popen(["bash", "-e", str(work / "walk-through.sh")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        output, errors = proc.communicate(timeout=TIMEOUT_SECS)
        failed = proc.returncode != 0
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it ended meanwhile
        output, errors = proc.communicate()
        failed = True
        print(f"readme_check: not done within {TIMEOUT_SECS} s", file=sys.stderr)
    finally:
        subprocess.run(["scripts/up.sh", "--stop"], cwd=ROOT, env=env, capture_output=True,
                       timeout=60)
    problems = compare(output, expected)
    if failed or problems:
        print(f"readme_check: the walk-through failed on {runtime} (exit {proc.returncode}, "
              f"after {time.monotonic() - started:.0f} s)",
              file=sys.stderr)
        for p in problems:
            print("readme_check:", p, file=sys.stderr)
        print("--- what it printed:\n" + output, file=sys.stderr)
        print("--- its errors:\n" + errors, file=sys.stderr)
        log = work / "up" / "up.log"
        if log.exists():
            print(f"--- the app's log ({log}), its end:\n"
                  + "\n".join(log.read_text(errors="replace").splitlines()[-30:]),
                  file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"readme_check: ok on {runtime} in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
