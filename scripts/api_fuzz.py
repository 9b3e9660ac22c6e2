#!/usr/bin/env python3
"""Schemathesis against the running app: the served `/openapi.json` must say exactly what the API
does (no 5xx, documented status codes, content types and response schemas).

Starts a private `redis-server` on a free port and the HTTP app (`spin.toml`, the components
built by `scripts/build.sh`) on a free port with an in-memory KV store, an HS256 secret and rate
limits off, on the runtime asked for: `edge-host` (the binary cargo built for the tests,
`target/debug/edge-host`, or EDGE_HOST_BIN) or real Spin (SPIN_BIN). It creates three boards, so
generated requests also meet existing resources, then runs `limits_check.check` (every documented
limit at and past its boundary), then Schemathesis (from target/pytools,
installed by scripts/setup.sh) with an admin/service/platform token, seeded and bounded:
API_FUZZ_SEED (default 20261123), API_FUZZ_EXAMPLES per operation (default 12), and a time budget
of API_FUZZ_SECONDS (default 150) for the whole run. Everything is stopped on exit.

Usage: scripts/api_fuzz.py edge-host|spin
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import limits_check

ROOT = Path(__file__).resolve().parent.parent
SECRET = "api-fuzz-secret-" + "0" * 48
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(roles: list[str]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = {"sub": "api-fuzz", "roles": roles, "exp": int(time.time()) + 3600}
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)


def wait_until(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SystemExit(f"api_fuzz: {what} did not come up within {seconds:.0f} s")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def stop(proc: subprocess.Popen, sig=signal.SIGINT) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    runtime = sys.argv[1] if len(sys.argv) > 1 else ""
    if runtime not in ("edge-host", "spin"):
        print(__doc__, file=sys.stderr)
        return 2
    st = ROOT / "target/pytools/bin/schemathesis"
    if not st.exists():
        raise SystemExit(f"api_fuzz: {st} is missing: run scripts/setup.sh")
    seed = os.environ.get("API_FUZZ_SEED", "20261123")
    examples = os.environ.get("API_FUZZ_EXAMPLES", "12")
    budget = int(os.environ.get("API_FUZZ_SECONDS", "150"))

    work = Path(tempfile.mkdtemp(prefix="api-fuzz-"))
    procs: list[subprocess.Popen] = []
    try:
        redis_port = free_port()
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(lambda: subprocess.run(
            ["redis-cli", "-p", str(redis_port), "ping"], capture_output=True).returncode == 0,
            10, "redis-server")

        rc = work / "runtime-config.toml"
        rc.write_text('[key_value_store.default]\ntype = "spin"\n')
        port = free_port()
        env = dict(os.environ,
                   SPIN_VARIABLE_REDIS_URL=f"redis://127.0.0.1:{redis_port}",
                   SPIN_VARIABLE_REDIS_HOSTS=f"redis://127.0.0.1:{redis_port}",
                   SPIN_VARIABLE_JWT_HS256_SECRET=SECRET,
                   SPIN_VARIABLE_RATE_LIMITS="[]",
                   SPIN_VARIABLE_REQUEST_LOG="off",
                   # Long-polls and streams end within 2 s: waiting is not what is fuzzed.
                   SPIN_VARIABLE_LIVE_MAX_SECS="2")
        log = open(work / "app.log", "w")
        if runtime == "spin":
            spin = os.environ.get("SPIN_BIN") or shutil.which("spin")
            if not spin:
                raise SystemExit("api_fuzz: no Spin CLI (SPIN_BIN or spin on PATH)")
            cmd = [spin, "up", "--from", str(ROOT / "spin.toml"), "--runtime-config-file",
                   str(rc), "--listen", f"127.0.0.1:{port}"]
        else:
            host = os.environ.get("EDGE_HOST_BIN") or str(ROOT / "target/debug/edge-host")
            cmd = [host, "up", "--manifest", str(ROOT / "spin.toml"), "--runtime-config",
                   str(rc), "--listen", f"127.0.0.1:{port}"]
        procs.append(subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=log))
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/health/live"), 300, f"the app on {runtime}")

        bearer = token(["admin", "service", "platform"])
        # `arena` is also an open tournament (a day from an hour ago) counting attempts (more
        # than any run sends) and paying rewards, so the operations on a tournament (joining,
        # attempts, grants, reading rewards) have one to act on; every other operation works on
        # it as on any board while its window is open.
        opened = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        arena = {"id": "arena", "public_read": True,
                 "tournament": {"title": "Arena", "start": opened, "duration_secs": 86400,
                                "max_attempts": 1000000},
                 "rewards": [{"from": 1, "to": 3, "reward": {"gems": 10}}]}
        # `ladder` is a league, for the league read (limits_check.BOARD_OF).
        ladder = {"id": "ladder", "period": "daily", "cohort_size": 50,
                  "league": {"tiers": ["bronze", "silver"], "promote": 1, "demote": 1}}
        for board in (arena, ladder,
                      {"id": "laps", "sort": "asc", "score_type": "decimal", "scale": 3}):
            status, _ = limits_check.send(base, bearer, "post", "/api/v1/boards", {}, {}, board)
            if status != 201:
                raise SystemExit(f"api_fuzz: creating board {board['id']} answered {status}")
            for player, score in (("ann", 50), ("bob", 70)):
                limits_check.send(base, bearer, "post", f"/api/v1/boards/{board['id']}/scores",
                                  {}, {}, {"player": player, "score": score})

        # Every limit the document states, at and one past its boundary (Schemathesis seldom
        # generates a far boundary value).
        failures = limits_check.check(base, bearer)
        for f in failures:
            print("limits_check:", f, file=sys.stderr)
        if failures:
            print(f"api_fuzz: the app's log is in {work}/app.log", file=sys.stderr)
            work = None
            return 1

        report = ROOT / "target" / f"api-fuzz-{runtime}"
        shutil.rmtree(report, ignore_errors=True)
        args = [str(st), "run", f"{base}/openapi.json", "--url", base,
                "--checks", CHECKS, "--seed", seed, "--max-examples", examples,
                "--workers", "1", "--max-time", str(budget),
                # The slowest documented answer: a drain's 5 s and a webhook attempt's 15 s
                # (docs/events.md, Without a Redis trigger), with a margin for a loaded machine.
                "--request-timeout", "30",
                "--header", f"Authorization: Bearer {bearer}",
                "--suppress-health-check", "all", "--generation-database", "none",
                "--no-color", "--report", "junit", "--report-dir", str(report)]
        print(f"api_fuzz: Schemathesis on {runtime} (seed {seed}, {examples} examples per "
              f"operation, at most {budget} s)", flush=True)
        try:
            done = subprocess.run(args, cwd=work, timeout=budget + 120)
        except subprocess.TimeoutExpired:
            print(f"api_fuzz: Schemathesis did not finish within {budget + 120} s",
                  file=sys.stderr)
            return 1
        if done.returncode != 0:
            print(f"api_fuzz: the app's log is in {work}/app.log", file=sys.stderr)
            work = None  # keep it for the reader
        return done.returncode
    finally:
        for p in reversed(procs):
            stop(p, signal.SIGINT if p is not procs[0] else signal.SIGTERM)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
