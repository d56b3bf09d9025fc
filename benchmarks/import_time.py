"""Import time of ``klaviyo_kit`` beside the raw SDK's first API group, measured in one run.

Each measurement runs in a fresh interpreter (so nothing is cached in ``sys.modules``), several
times, and the median is printed. Run: ``python -m benchmarks.import_time``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from benchmarks._report import Measure, add_json_option, emit

RUNS = 7
CASES = {
    "python startup (baseline)": "pass",
    "import klaviyo_kit": "import klaviyo_kit",
    "klaviyo_kit + KlaviyoClient()": (
        "from klaviyo_kit import KlaviyoClient, KlaviyoSettings\n"
        "KlaviyoClient(KlaviyoSettings(private_key='pk_' + 'a' * 34))"
    ),
    "import klaviyo_api": "import klaviyo_api",
    "raw SDK: first API group (Profiles)": (
        "from klaviyo_api import KlaviyoAPI\nKlaviyoAPI('pk_' + 'a' * 34).Profiles"
    ),
    "klaviyo_kit: first API group (profiles)": (
        "from klaviyo_kit import KlaviyoClient, KlaviyoSettings\n"
        "KlaviyoClient(KlaviyoSettings(private_key='pk_' + 'a' * 34)).sdk.profiles"
    ),
}


def _time(code: str) -> float:
    timer = "import time\n_t = time.perf_counter()\n" + code + "\nprint(time.perf_counter() - _t)"
    out = subprocess.run(
        [sys.executable, "-c", timer], check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    """Print the median time of each case and its ratio to the raw SDK's first group."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke: 2 runs per case")
    add_json_option(parser)
    options = parser.parse_args()
    runs = 2 if options.quick else RUNS
    results = {
        name: statistics.median(_time(code) for _ in range(runs)) for name, code in CASES.items()
    }
    reference = results["raw SDK: first API group (Profiles)"]
    print(f"{'case':45} {'median ms':>10} {'vs raw SDK group':>17}")
    for name, seconds in results.items():
        print(f"{name:45} {seconds * 1000:10.1f} {seconds / reference:16.2f}x")
    kit = results["klaviyo_kit: first API group (profiles)"]
    emit(
        options.json,
        [
            Measure(
                "import klaviyo_kit + KlaviyoClient() + first API group",
                kit * 1000,
                reference * 1000,
                "ms",
                "<= 1.05x the raw SDK's first group",
                kit <= 1.05 * reference,
            )
        ],
    )


if __name__ == "__main__":
    main()
