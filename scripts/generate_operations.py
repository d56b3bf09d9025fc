"""Generate ``src/klaviyo_kit/_operations_table.py`` from the installed klaviyo-api SDK.

Every public operation of every ``openapi_client.api.*Api`` class is read for its HTTP method and
path (from the generated ``_<name>_serialize`` method) and for its rate limits and scopes (from the
docstring: ``*Rate limits*:<br>Burst: `10/s`<br>Steady: `150/m``` and ``**Scopes:** `a:read```).
Aliases the SDK defines (``spawn_bulk_profile_import_job = bulk_import_profiles``) are kept with a
pointer to the canonical name.

Usage::

    python scripts/generate_operations.py            # rewrite the table
    python scripts/generate_operations.py --check    # exit 1 when the table is stale

``tests/test_operations.py`` runs the same comparison, so an SDK upgrade that changes a limit fails
the test suite until the table is regenerated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from klaviyo_kit._operations_gen import render_table

TABLE = Path(__file__).resolve().parents[1] / "src" / "klaviyo_kit" / "_operations_table.py"


def main() -> int:
    """Write or check the generated table; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the table is out of date")
    args = parser.parse_args()
    text = render_table()
    if args.check:
        if TABLE.read_text(encoding="utf-8") != text:
            print(f"{TABLE} is stale: run python scripts/generate_operations.py", file=sys.stderr)
            return 1
        print("operation table is up to date")
        return 0
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
