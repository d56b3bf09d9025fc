"""Run every benchmark, then print one table of the measures and write it as JSON.

Run: python -m benchmarks [--quick] [--only NAME ...] [--out benchmark-results.json]

Each benchmark runs in its own interpreter (import times and peak RSS are per process), prints
its own detail, and hands its measures back through ``--json``; the table says for each:
measure | kit | baseline | ratio | goal | met. ``--quick`` runs a reduced set with small inputs
(a smoke test in ``.ci/run``: no goal is asserted there, a benchmark that fails to run fails).
Install the baselines with ``pip install -e '.[bench]'`` (``standardwebhooks``,
``segment-analytics-python``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name: (full arguments, quick arguments or None to leave it out of --quick)
BENCHMARKS: dict[str, tuple[list[str], list[str] | None]] = {
    "track_cpu": ([], ["--quick"]),
    "track_latency": ([], ["--quick"]),
    "call_overhead": ([], ["--quick"]),
    "import_time": ([], ["--quick"]),
    "webhooks": ([], ["--quick"]),
    "bulk_import_rss": ([], ["--quick"]),
    "export_memory": ([], ["--quick"]),
    "jobs": ([], ["--quick"]),
    "jobs_celery": ([], None),
    "ingest": ([], None),
    "limiter": ([], None),
    "infra": ([], None),
    "sandbox": ([], None),
}
"""Every benchmark; those that report measures take ``--json``."""
REPORTING = {
    "track_cpu",
    "track_latency",
    "call_overhead",
    "import_time",
    "webhooks",
    "bulk_import_rss",
    "jobs",
    "jobs_celery",
}


def run(name: str, args: list[str], folder: Path) -> tuple[int, list[dict[str, object]], float]:
    """Run one benchmark; return its exit code, its measures and its wall seconds."""
    out = folder / f"{name}.json"
    extra = ["--json", str(out)] if name in REPORTING else []
    print(f"\n== {name} {' '.join(args)}", flush=True)
    started = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", f"benchmarks.{name}", *args, *extra])
    elapsed = time.perf_counter() - started
    measures = json.loads(out.read_text()) if out.exists() else []
    return code, measures, elapsed


def number(value: object) -> str:
    """A figure for the table."""
    if not isinstance(value, (int, float)):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(rows: list[dict[str, object]]) -> str:
    """The measures as a fixed-width table."""
    head = ("measure", "kit", "baseline", "ratio", "unit", "goal", "met")
    lines = [
        (
            str(r["measure"]),
            number(r["kit"]),
            number(r["baseline"]),
            f"{r['ratio']:.2f}x" if isinstance(r["ratio"], (int, float)) else "-",
            str(r["unit"]),
            str(r["goal"]),
            {True: "yes", False: "NO"}.get(r["met"], "n/a"),  # type: ignore[call-overload]
        )
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*line) for line in [head, *lines])


def main() -> int:
    """Run the benchmarks, print the table, write the JSON; non-zero if one failed to run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced set, small inputs")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="just these")
    parser.add_argument("--out", default="benchmark-results.json", help="where the JSON goes")
    options = parser.parse_args()
    chosen = options.only or list(BENCHMARKS)
    rows: list[dict[str, object]] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in chosen:
            full, quick = BENCHMARKS[name]
            args = quick if options.quick else full
            if args is None:
                continue
            code, measures, elapsed = run(name, args, Path(folder))
            if code != 0:
                failed.append(name)
            rows.extend({"benchmark": name, **m, "seconds": round(elapsed, 1)} for m in measures)
    print("\n" + table(rows))
    Path(options.out).write_text(
        json.dumps({"quick": options.quick, "measures": rows, "failed": failed}, indent=2)
    )
    print(f"\nwritten to {options.out}")
    if failed:
        print(f"failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
