"""``python -m klaviyo_kit.sandbox`` serves a sandbox that curl can create a profile on."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading

import httpx

from klaviyo_kit.sandbox.__main__ import main

KEY = "pk_" + "x" * 34
PROFILE = {"data": {"type": "profile", "attributes": {"email": "curl@example.com"}}}


def test_the_module_runs_a_server_curl_can_create_a_profile_on():
    process = subprocess.Popen(
        [sys.executable, "-m", "klaviyo_kit.sandbox", "--port", "0", "--seed", "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        curl = shutil.which("curl")
        assert curl is not None, "the documented check uses curl"
        output = subprocess.run(
            [
                curl,
                "-s",
                "-X",
                "POST",
                f"{url}/api/profiles",
                "-H",
                f"Authorization: Klaviyo-API-Key {KEY}",
                "-H",
                "revision: 2026-10-15",
                "-H",
                "Content-Type: application/vnd.api+json",
                "-d",
                json.dumps(PROFILE),
                "-w",
                "\n%{http_code}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        body, status = output.rsplit("\n", 1)
        assert status == "201"
        assert json.loads(body)["data"]["attributes"]["email"] == "curl@example.com"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_main_serves_until_stopped(capsys):
    stop = threading.Event()
    runner = threading.Thread(
        target=main,
        args=(["--port", "0", "--no-rate-limits", "--fault-rate", "0.5"],),
        kwargs={"stop": stop},
    )
    runner.start()
    try:
        banner = ""
        while "listening" not in banner:
            stop.wait(0.01)  # poll the captured output; no timing is asserted
            banner += capsys.readouterr().out
        url = banner.strip().rsplit(" ", 1)[-1]
        headers = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-10-15"}
        statuses = {
            httpx.get(f"{url}/api/accounts", headers=headers).status_code for _ in range(20)
        }
        assert 200 in statuses
        assert statuses - {200} <= {500, 503, 504}
        assert len(statuses) > 1
    finally:
        stop.set()
        runner.join(timeout=30)
