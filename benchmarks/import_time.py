"""Import time of ``klaviyo_kit`` beside the raw SDK's first API group, measured in one run.

Each measurement runs in a fresh interpreter (so nothing is cached in ``sys.modules``), several
times, and the median is printed. Run: ``python benchmarks/import_time.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

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
    results = {
        name: statistics.median(_time(code) for _ in range(RUNS)) for name, code in CASES.items()
    }
    reference = results["raw SDK: first API group (Profiles)"]
    print(f"{'case':45} {'median ms':>10} {'vs raw SDK group':>17}")
    for name, seconds in results.items():
        print(f"{name:45} {seconds * 1000:10.1f} {seconds / reference:16.2f}x")


if __name__ == "__main__":
    main()
