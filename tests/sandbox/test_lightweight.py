"""Importing the sandbox or the pytest plugin loads neither the SDK nor its models."""

from __future__ import annotations

import subprocess
import sys


def test_sandbox_and_plugin_imports_leave_the_sdk_unloaded():
    code = (
        "import sys, klaviyo_kit.sandbox, klaviyo_kit.testing\n"
        "loaded = [m for m in sys.modules if m.startswith(('openapi_client', 'klaviyo_api'))]\n"
        "print(loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
