#!/usr/bin/env sh
# The project's test command: format, lints, the Wasm build, then every native, property and
# integration test (integration tests run the built .wasm on the local host against a real
# redis-server that each test starts on a free port). When a Spin CLI is available (SPIN_BIN, else
# `spin` on PATH), the app suite runs again on real Spin, on the p3 build and on Redis Clusters, each
# run the tests whose subject differs there (tests/app/runs.toml, docs/testing.md).
set -eu
cd "$(dirname "$0")/.."

# Each step's line carries the seconds since the run started (what CI's time goes to).
started=$(date +%s)
step() {
    echo "==> [$(($(date +%s) - started))s] $*"
}

py=target/pytools/bin/python
if [ ! -x "$py" ]; then
    echo "test: $py is missing: run scripts/setup.sh" >&2
    exit 1
fi
spin="${SPIN_BIN:-$(command -v spin || true)}"
# A Spin CLI asked for and missing fails the run (CI sets EDGE_REQUIRE_SPIN=1): a skipped Spin
# suite must never pass for a tested one.
if [ -n "${SPIN_BIN:-}" ] && [ ! -x "$SPIN_BIN" ]; then
    echo "test: SPIN_BIN=$SPIN_BIN is not an executable file" >&2
    exit 1
fi
if [ "${EDGE_REQUIRE_SPIN:-}" = "1" ] && [ -z "$spin" ]; then
    echo "test: EDGE_REQUIRE_SPIN=1 but no Spin CLI (set SPIN_BIN or put spin on PATH)" >&2
    exit 1
fi

step "OpenAPI: api/openapi.json is valid 3.1 and covers the app's routes and every error status"
"$py" scripts/openapi_check.py spec

step "shared/leaderboard, shared/edge, host: imports go only down each crate's layers, never round a circle"
"$py" scripts/layers.py --quiet

step "house rules: production files within 500 lines, functions within 80 (or named exceptions), no Rust code block in a doc comment, each workspace member's own test profile"
"$py" scripts/house.py

step "docs: every relative link and anchor in the Markdown files resolves"
"$py" scripts/check_links.py
step "README: one page (at most 250 lines; details belong in docs/)"
"$py" scripts/readme_check.py length

step "cargo fmt --check"
cargo fmt --all -- --check

# Clippy lints the workspace's crates while they are built for the tests, instead of in a check
# build of its own: `cargo clippy` itself runs clippy-driver as RUSTC_WORKSPACE_WRAPPER with
# CLIPPY_ARGS, over a `cargo check`; here the same wrapper and lints (`-D warnings`, every target:
# lib, tests, bins, benches, examples) run over the test build, so the dependencies are compiled
# once instead of twice. Every `cargo test` below goes through lint_test, so none rebuilds.
clippy_driver="$(rustc --print sysroot)/bin/clippy-driver"
if [ ! -x "$clippy_driver" ]; then
    echo "test: clippy-driver not found in the toolchain: rustup component add clippy" >&2
    exit 1
fi
lint_test() {
    RUSTC_WORKSPACE_WRAPPER="$clippy_driver" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" \
        cargo test "$@"
}

step "wasm build (wasm32-wasip2, release)"
scripts/build.sh
p3_job=""
spin_suite=""
fuzz_host=""
fuzz_spin=""
cluster_suite=""
cluster_spin_suite=""
host_suite=""
# Background runs end with this script, however it ends (a non-interactive shell's background
# jobs would otherwise outlive an interrupt, with their apps and Redis servers): each job's whole
# process tree, children first.
kill_tree() {
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        kill_tree "$child"
    done
    kill "$1" 2>/dev/null || true
}
stop_jobs() {
    for job in $p3_job $spin_suite $fuzz_host $fuzz_spin $cluster_suite $cluster_spin_suite \
        $host_suite; do
        kill_tree "$job"
    done
}
trap stop_jobs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What the suites record for the format checks at the end: every API response (validated against
# the OpenAPI document) and the /metrics scrapes (parsed by the Prometheus client's parser).
records="$(pwd)/target/test-records"
rm -rf "$records"
mkdir -p "$records/metrics"
export EDGE_METRICS_DUMP="$records/metrics"

# The WASIp3 build of the HTTP components (spin-sdk 6.0) is built and linted in every run
# (clippy-driver as the build's wrapper, -D warnings: its p3-only code has no other check). It
# runs on Spin 4.0.x only (docs/runtimes.md): with that Spin CLI, the build and then its app suite
# go in the background now, as one job: the build beside the test build, at the same priority
# (this job is the run's longest path: at a lower one, the suites starved the build, and a run
# whose crates changed took 862 s in place of 800), the suite as soon as both builds are done
# (the test build's end is the file $test_build_done), beside the other suites, whatever they
# wait on. Without, the build runs here. spin-p3.toml must be what spin.toml makes.
"$py" scripts/p3_manifest.py --check
build_p3() {
    step "wasm build of the HTTP components for WASIp3 (spin-sdk 6.0), with clippy -D warnings"
    RUSTC_WORKSPACE_WRAPPER="$clippy_driver" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" \
        nice -n "$1" scripts/build.sh p3
}
test_build_done=target/test-build.done
rm -f "$test_build_done" target/test-p3-build.done target/test-p3-build.failed
if [ -n "$spin" ] && "$spin" --version | grep -q '^spin 4\.0\.'; then
    # The app suite on the p3 build, its own apps and Redis servers on free ports: the tests of
    # what the p3 build changes (tests/app/runs.toml [p3]). The build is of the HTTP components
    # only: the worker (spin-worker.toml) is the same p2 component in both. The test build is
    # waited for at most an hour (this script ends the job sooner if that build fails).
    (
        if ! build_p3 0 >target/test-p3-build.log 2>&1; then
            touch target/test-p3-build.failed
            exit 1
        fi
        touch target/test-p3-build.done
        waited=0
        while [ ! -f "$test_build_done" ]; do
            if [ "$waited" -ge 3600 ]; then
                echo "test: the test build did not end within 3600 s" >&2
                exit 1
            fi
            sleep 1
            waited=$((waited + 1))
        done
        step "the app suite on the p3 build, real Spin" &&
            EDGE_TEST_BUILD=p3 EDGE_TEST_RUNTIME=spin SPIN_BIN="$spin" \
                EDGE_RECORD_RESPONSES="$records/responses-spin-p3.jsonl" lint_test --workspace --test app \
                -- --exact $(cat target/app-tests-p3.txt)
    ) >target/test-spin-p3.log 2>&1 &
    p3_job=$!
else
    build_p3 0
fi

step "clippy -D warnings and the test build: every target linted and built once, for both runtimes"
lint_test --workspace --all-targets --no-run

# The app suite runs whole on edge-host; each further run (real Spin with the p2 build, the p3
# build, Redis Clusters on either runtime) takes the tests whose subject differs there, as
# tests/app/runs.toml places them (each with why; docs/testing.md). Every test is placed in every
# run, or this check fails: the list comes from the suite's binary itself.
step "tests/app/runs.toml places every app-suite test in each further run"
lint_test --workspace --test app -- --list --format terse >target/app-tests.txt
"$py" scripts/suites.py check target/app-tests.txt
"$py" scripts/suites.py table target/app-tests.txt
for run in spin p3 cluster cluster-spin; do
    "$py" scripts/suites.py tests "$run" target/app-tests.txt >"target/app-tests-$run.txt"
done
touch "$test_build_done"

# The HTTP-level suites spend much of their time waiting on the app, Redis and the clock, so the
# real-Spin run goes beside the edge-host one (each its own apps and Redis servers on free ports);
# its output follows when both are done.
if [ -n "$spin" ]; then
    step "the app suite and the runtime tests on real Spin ($("$spin" --version)), beside the edge-host run"
    # The same test binaries (`--workspace` keeps the workspace's feature set, so nothing is
    # rebuilt): only the runtime changes.
    (
        EDGE_TEST_RUNTIME=spin SPIN_BIN="$spin" EDGE_RECORD_RESPONSES="$records/responses-spin.jsonl" \
            lint_test --workspace --test app -- --exact $(cat target/app-tests-spin.txt) &&
            EDGE_TEST_RUNTIME=spin SPIN_BIN="$spin" lint_test --workspace --test host -- host_kv host_redis
    ) >target/test-spin.log 2>&1 &
    spin_suite=$!
else
    step "skipped: the HTTP-level tests on real Spin (no Spin CLI: set SPIN_BIN or put spin on PATH)"
fi

# Redis Cluster (docs/operations.md › Redis Cluster): the app suite against clusters of three
# primaries and three replicas (EDGE_TEST_REDIS=cluster3, `redis-cli --cluster create` per test),
# the guests routing every command to its slot's primary. Redis refuses a command, or a script's
# declared KEYS, that span two slots, so this also checks that every script stays within one.
# Which tests each takes is tests/app/runs.toml's [cluster] (edge-host) and [cluster-spin] (real
# Spin). Both run in the background as soon as the edge-host suite has passed (while the Spin
# suites still run), side by side, each its own clusters on free ports, and beside the
# walk-throughs; their output follows Schemathesis's.
# The edge-host run takes four tests at a time (the default is one per core): much of a test's
# time is its cluster forming, which waits rather than computes (at three, alone, the load stayed
# under 1).
cluster_host() {
    EDGE_TEST_REDIS=cluster3 lint_test --workspace --test app -- --exact \
        $(cat target/app-tests-cluster.txt) --test-threads 4
}
cluster_spin() {
    EDGE_TEST_REDIS=cluster3 EDGE_TEST_RUNTIME=spin SPIN_BIN="$spin" lint_test \
        --workspace --test app -- --exact $(cat target/app-tests-cluster-spin.txt)
}

# Schemathesis on each runtime, beside the suites: each run is bounded by time
# (API_FUZZ_SECONDS) and mostly waits on the app, so it tries fewer cases when the suites leave
# it less CPU, where after them it added its whole length to CI's (the runs' output follows the
# suites'). It needs only the wasm build and the test build's edge-host binary, and starts once
# the p3 build is done and edge-host's suite has ended (below).
start_fuzz() {
    if [ -n "$spin" ]; then
        step "Schemathesis and every documented limit: the served OpenAPI document against the app on edge-host and on real Spin, in the background (seeded, bounded)"
        SPIN_BIN="$spin" "$py" scripts/api_fuzz.py spin >target/api-fuzz-spin.log 2>&1 &
        fuzz_spin=$!
    else
        step "Schemathesis and every documented limit: the served OpenAPI document against the app on edge-host, in the background (seeded, bounded)"
    fi
    "$py" scripts/api_fuzz.py edge-host >target/api-fuzz-edge-host.log 2>&1 &
    fuzz_host=$!
}

# Every test of every crate on edge-host, beside the Spin runs; its output follows once it ends.
step "cargo test (edge-host), in the background"
EDGE_RECORD_RESPONSES="$records/responses-edge-host.jsonl" lint_test --workspace \
    >target/test-edge-host.log 2>&1 &
host_suite=$!

# The cluster runs start once edge-host's suite has passed, whatever the p3 job is at.
host_failed=""
wait "$host_suite" || host_failed=1
host_suite=""
step "cargo test (edge-host):"
cat target/test-edge-host.log
if [ -z "$host_failed" ]; then
    step "the app suite against Redis Clusters of three primaries and three replicas on edge-host, in the background"
    cluster_host >target/test-cluster.log 2>&1 &
    cluster_suite=$!
    if [ -n "$spin" ]; then
        step "the Redis-facing suites against Redis Clusters on real Spin, in the background"
        cluster_spin >target/test-cluster-spin.log 2>&1 &
        cluster_spin_suite=$!
    fi
fi
# Schemathesis after them, once the p3 build is done (beside that build it once held the p3
# suite back by 150 s); that build is waited for while its job runs, at most an hour.
if [ -n "$p3_job" ]; then
    waited=0
    while [ ! -f target/test-p3-build.done ] && [ ! -f target/test-p3-build.failed ] &&
        kill -0 "$p3_job" 2>/dev/null && [ "$waited" -lt 3600 ]; do
        sleep 1
        waited=$((waited + 1))
    done
fi
start_fuzz
spin_failed=""
if [ -n "$spin_suite" ]; then
    wait "$spin_suite" || spin_failed=1
    spin_suite=""
    step "the run on real Spin:"
    cat target/test-spin.log
fi
if [ -n "$p3_job" ]; then
    wait "$p3_job" || spin_failed=1
    p3_job=""
    step "the p3 build and its run on real Spin:"
    cat target/test-p3-build.log target/test-spin-p3.log
    if [ -f target/test-p3-build.failed ]; then
        echo "test: the WASIp3 build failed (above)" >&2
    fi
fi
if [ -n "$host_failed" ]; then
    echo "test: cargo test on edge-host failed (above the Spin run's output)" >&2
fi
if [ -n "$spin_failed" ]; then
    echo "test: the suites on real Spin failed (above)" >&2
fi
if [ -n "$host_failed$spin_failed" ]; then
    exit 1
fi
# One walk-through after the other: each runs the README's own lines at the repository's root
# (scripts/setup.sh, target/dev-secret's first write), which two at once would race on.
step "README: the walk-through as pasted (scripts/up.sh --background) on edge-host"
"$py" scripts/readme_check.py edge-host
if [ -n "$spin" ]; then
    step "README: the same on real Spin"
    SPIN_BIN="$spin" "$py" scripts/readme_check.py spin
fi

fuzz_failed=""
wait "$fuzz_host" || fuzz_failed="$fuzz_failed edge-host"
fuzz_host=""
if [ -n "$fuzz_spin" ]; then
    wait "$fuzz_spin" || fuzz_failed="$fuzz_failed spin"
    fuzz_spin=""
fi
step "Schemathesis:"
cat target/api-fuzz-edge-host.log
if [ -n "$spin" ]; then
    cat target/api-fuzz-spin.log
fi
if [ -n "$fuzz_failed" ]; then
    echo "test: Schemathesis failed on:$fuzz_failed" >&2
    exit 1
fi

cluster_failed=""
if [ -n "$cluster_suite" ]; then
    wait "$cluster_suite" || cluster_failed=" edge-host"
    cluster_suite=""
    step "the app suite against Redis Clusters on edge-host:"
    cat target/test-cluster.log
fi
if [ -n "$cluster_spin_suite" ]; then
    wait "$cluster_spin_suite" || cluster_failed="$cluster_failed spin"
    cluster_spin_suite=""
    step "the Redis-facing suites against Redis Clusters on real Spin:"
    cat target/test-cluster-spin.log
fi
if [ -n "$cluster_failed" ]; then
    echo "test: the app suite against Redis Clusters failed on:$cluster_failed (above)" >&2
    exit 1
fi

step "/metrics scrapes with the Prometheus text parser"
"$py" scripts/check_metrics.py "$records"/metrics/*.prom
step "OpenAPI: every API response the suites recorded validates against the document"
"$py" scripts/openapi_check.py responses "$records"/responses-*.jsonl

# The security scan: every locked crate against the RustSec advisory database, offline, from the
# copy beside the repository (../shared/advisory-db; EDGE_ADVISORY_DB names another). Warnings
# (unmaintained, unsound, yanked) fail it too; what does not apply is ignored, with its reason, in
# .cargo/audit.toml. A clone without that copy skips the scan with one line. Last, so that a
# cargo-audit scripts/setup.sh builds in the background (SETUP_BUILD_IN_BACKGROUND=1) has had the
# whole run to finish; it is waited for here, at most 20 minutes.
advisories="${EDGE_ADVISORY_DB:-../shared/advisory-db}"
if [ -d "$advisories/crates" ]; then
    step "cargo audit: Cargo.lock against the RustSec advisory database in $advisories"
    setup_dir=target/setup
    # A background build scripts/setup.sh started: wait for its status (at most 20 minutes).
    if [ -f "$setup_dir/cargo-audit.log" ]; then
        waited=0
        while [ ! -f "$setup_dir/cargo-audit.status" ] && [ "$waited" -lt 1200 ]; do
            sleep 2
            waited=$((waited + 2))
        done
        if [ "$(cat "$setup_dir/cargo-audit.status" 2>/dev/null)" != "0" ]; then
            echo "test: cargo-audit was not built (scripts/setup.sh); its log's end:" >&2
            tail -n 30 "$setup_dir/cargo-audit.log" >&2
            exit 1
        fi
    fi
    cargo audit --no-fetch --db "$advisories" --deny warnings
elif [ "${EDGE_REQUIRE_ADVISORY_DB:-}" = "1" ]; then
    echo "test: EDGE_REQUIRE_ADVISORY_DB=1 but there is no advisory database at $advisories" >&2
    exit 1
else
    step "skipped: cargo audit (no advisory database at $advisories)"
fi
step "done: every check passed"
