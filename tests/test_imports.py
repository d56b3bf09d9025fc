"""``import klaviyo_kit`` stays light: no SDK module is loaded until a group is used."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import klaviyo_kit
from klaviyo_kit import KlaviyoClient, KlaviyoSettings
before = sorted(m for m in sys.modules if m.startswith(("openapi_client", "klaviyo_api")))
client = KlaviyoClient(KlaviyoSettings(private_key="pk_" + "d4" * 17))
client.sdk.metrics
after = sorted(m for m in sys.modules if m.startswith("openapi_client.api."))
print(json.dumps({"before": before, "after": after}))
"""


def test_import_loads_no_sdk_module_and_a_group_loads_only_its_own():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], check=True, capture_output=True, text=True
    ).stdout
    seen = json.loads(out)
    assert seen["before"] == []
    assert seen["after"] == ["openapi_client.api.metrics_api"]
