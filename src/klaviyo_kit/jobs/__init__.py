"""Jobs: bounded, resumable passes of integration work, and the engines that run them.

A job takes a client, a state store and its options; ``run()`` makes one pass and returns a
:class:`JobReport`. Run it yourself, on a schedule with the in-process runner, or on Celery or
RQ workers (``klaviyo_kit.jobs.celery``, ``klaviyo_kit.jobs.rq``, behind their extras).
"""

from __future__ import annotations

from klaviyo_kit.jobs._job import Job, JobReport, JobStatus, load_status, never_stop, save_status

__all__ = ["Job", "JobReport", "JobStatus", "load_status", "never_stop", "save_status"]
