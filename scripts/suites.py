#!/usr/bin/env python3
"""Which app-suite tests each further run takes, from tests/app/runs.toml.

edge-host runs every test of the app suite (tests/app/suite). The further runs (real Spin with the
p2 build, real Spin with the p3 build, Redis Cluster on either runtime) take the tests whose
subject differs there. tests/app/runs.toml places every test in every run: a run's `run` list and
its `skip` table hold test-name prefixes (a module, `api_live::`, or a test or a stem of tests,
`api_pipeline::poison_`), and the longest prefix that matches a test decides. A test that no
prefix of a run matches, or a prefix that matches no test, fails the check: a new test must be
placed, and a renamed one moved.

    scripts/suites.py check LIST        # every test placed in every run (scripts/test.sh)
    scripts/suites.py tests RUN LIST    # the tests RUN takes, one per line (for `--exact`)
    scripts/suites.py table LIST        # how many tests each run takes

LIST is what the suite's binary prints for `--list --format terse` ("name: test" lines; a file
path, or - for standard input).
"""

import pathlib
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNS = ROOT / "tests" / "app" / "runs.toml"


class Misplaced(Exception):
    """A test placed nowhere, or a prefix that places no test."""


def load_runs(path: pathlib.Path = RUNS) -> dict:
    """The runs of `path`: each a dict of prefix -> True (runs) or the reason it is skipped."""
    with path.open("rb") as f:
        doc = tomllib.load(f)
    runs = {}
    for name, run in doc.items():
        if not isinstance(run, dict) or set(run) - {"why", "run", "skip"}:
            raise Misplaced(f"{path.name}: [{name}] holds only `why`, `run` and `skip`")
        if not str(run.get("why", "")).strip():
            raise Misplaced(f"{path.name}: [{name}] says `why` it runs what it runs")
        runs_ = run.get("run", [])
        skips = run.get("skip", {})
        if not isinstance(runs_, list) or not all(isinstance(p, str) and p for p in runs_):
            raise Misplaced(f"{path.name}: [{name}] `run` is a list of test-name prefixes")
        if not isinstance(skips, dict):
            raise Misplaced(f"{path.name}: [{name}] `skip` is a table of prefix = reason")
        placed = {}
        for prefix in runs_:
            if prefix in placed:
                raise Misplaced(f"{path.name}: [{name}] runs '{prefix}' twice")
            placed[prefix] = True
        for prefix, reason in skips.items():
            if prefix in placed:
                raise Misplaced(f"{path.name}: [{name}] both runs and skips '{prefix}'")
            if not isinstance(reason, str) or not reason.strip():
                raise Misplaced(f"{path.name}: [{name}] skips '{prefix}' without a reason")
            placed[prefix] = reason
        runs[name] = placed
    return runs


def read_list(source: str) -> list[str]:
    """The test names of a `--list --format terse` output."""
    text = sys.stdin.read() if source == "-" else pathlib.Path(source).read_text()
    names = [line[: -len(": test")] for line in text.splitlines() if line.endswith(": test")]
    if not names:
        raise Misplaced(f"{source}: no test listed (expected `name: test` lines)")
    return names


def taken(placed: dict, tests: list[str]) -> list[str]:
    """The tests a run takes; `Misplaced` when a test or a prefix is placed nowhere."""
    used = set()
    out = []
    for test in tests:
        matching = [p for p in placed if test.startswith(p)]
        if not matching:
            raise Misplaced(f"'{test}' is placed nowhere")
        decider = max(matching, key=len)
        used.update(matching)
        if placed[decider] is True:
            out.append(test)
    stale = sorted(set(placed) - used)
    if stale:
        raise Misplaced(f"prefixes that place no test: {', '.join(stale)}")
    return out


def main(argv: list[str]) -> int:
    try:
        runs = load_runs()
        if len(argv) == 2 and argv[0] == "check":
            tests = read_list(argv[1])
            for name, placed in runs.items():
                try:
                    taken(placed, tests)
                except Misplaced as e:
                    raise Misplaced(f"[{name}]: {e}") from None
            return 0
        if len(argv) == 3 and argv[0] == "tests":
            if argv[1] not in runs:
                raise Misplaced(f"no run [{argv[1]}] in {RUNS.name}")
            try:
                tests = taken(runs[argv[1]], read_list(argv[2]))
            except Misplaced as e:
                raise Misplaced(f"[{argv[1]}]: {e}") from None
            if not tests:
                # An empty filter list would run every test: a run takes one at least.
                raise Misplaced(f"[{argv[1]}] takes no test")
            print("\n".join(tests))
            return 0
        if len(argv) == 2 and argv[0] == "table":
            tests = read_list(argv[1])
            print(f"{'run':<16} tests (of {len(tests)})")
            for name, placed in runs.items():
                print(f"{name:<16} {len(taken(placed, tests))}")
            return 0
    except Misplaced as e:
        print(f"suites: {e} (tests/app/runs.toml)", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
