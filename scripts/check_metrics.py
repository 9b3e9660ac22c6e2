#!/usr/bin/env python3
"""Checks /metrics scrapes (files written by the api_metrics test under EDGE_METRICS_DUMP) with
the Prometheus Python client's text-format parser, plus what a parser does not check: every
sample's family has HELP and TYPE, names follow the conventions (counters end in _total, units in
base units), and histogram buckets are cumulative with +Inf equal to _count.

Usage: check_metrics.py FILE.prom [FILE.prom ...]
"""

import sys

from prometheus_client.parser import text_string_to_metric_families


def check(path: str) -> list[str]:
    text = open(path, encoding="utf-8").read()
    problems = []
    helped = {l.split()[2] for l in text.splitlines() if l.startswith("# HELP ")}
    typed = {l.split()[2]: l.split()[3] for l in text.splitlines() if l.startswith("# TYPE ")}
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own error: not valid exposition text
        return [f"does not parse: {e!r}"]
    if not families:
        problems.append("no metric families")
    for fam in families:
        if fam.name not in helped and f"{fam.name}_total" not in helped:
            problems.append(f"{fam.name}: no HELP")
        declared = typed.get(fam.name) or typed.get(f"{fam.name}_total")
        if declared != fam.type:
            problems.append(f"{fam.name}: TYPE {declared} but parsed as {fam.type}")
        if not fam.name.startswith("lb_"):
            problems.append(f"{fam.name}: not in the lb_ namespace")
        if fam.type == "histogram":
            if not fam.name.endswith("_seconds"):
                problems.append(f"{fam.name}: a duration histogram is in seconds")
            by_series: dict[tuple, dict] = {}
            for s in fam.samples:
                labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                entry = by_series.setdefault(labels, {"buckets": [], "count": None, "sum": None})
                if s.name.endswith("_bucket"):
                    entry["buckets"].append((float(s.labels["le"]), s.value))
                elif s.name.endswith("_count"):
                    entry["count"] = s.value
                elif s.name.endswith("_sum"):
                    entry["sum"] = s.value
            for labels, e in by_series.items():
                values = [v for _, v in sorted(e["buckets"])]
                if values != sorted(values):
                    problems.append(f"{fam.name}{labels}: buckets not cumulative")
                if not e["buckets"] or sorted(e["buckets"])[-1][0] != float("inf"):
                    problems.append(f"{fam.name}{labels}: no +Inf bucket")
                elif e["count"] != sorted(e["buckets"])[-1][1]:
                    problems.append(f"{fam.name}{labels}: +Inf bucket != _count")
                if e["sum"] is None or e["sum"] < 0:
                    problems.append(f"{fam.name}{labels}: no _sum")
        for s in fam.samples:
            if s.value < 0 and fam.type == "counter":
                problems.append(f"{s.name}: negative counter")
    return problems


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    failed = 0
    for path in sys.argv[1:]:
        problems = check(path)
        if problems:
            failed += 1
            print(f"{path}: {len(problems)} problem(s)")
            for p in problems:
                print(f"  {p}")
    print(f"metrics: {len(sys.argv) - 1} scrape(s) parsed, {failed} with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
