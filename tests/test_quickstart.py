"""The README's main job: ``python examples/quickstart.py`` against the in-process sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def test_quickstart_runs_the_seed_flow_end_to_end():
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAVIYO_")}
    result = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "against the in-process sandbox" in out
    assert "1. signed up ada.lovelace@example.com: profile " in out
    assert "with email consent: 1 profile(s)" in out
    assert "(unique_id order-1001)" in out
    assert "queued → complete" in out
    assert "member of segment 'Big spenders': True" in out
    assert "1 profile(s) and 3 event(s)" in out  # the repeated order was not counted twice
