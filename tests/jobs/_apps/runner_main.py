"""Run the demo job under a JobRunner: ``python -m tests.jobs._apps.runner_main URL DB PAGES``."""

from __future__ import annotations

import sys

from tests.jobs._apps.demo import TrackPagesJob, client_for

from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.jobs._runner import JobRunner


def main() -> int:
    url, database, pages = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = SQLStateStore(f"sqlite:///{database}")
    with client_for(url) as client:
        job = TrackPagesJob(client, store, pages=pages, page_delay=0.1, log=True)
        report = JobRunner(job, store, lease_ttl=30).run_once()
    sys.stdout.write(f"done complete={report.complete if report else None}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
