"""A forking RQ worker class that imports the kit and the SDK once, before it forks.

``rq worker -w tests.jobs._apps.rq_preload.PreloadedWorker``: each work horse then starts
with the imports done (it still builds its own client and connections after the fork).
"""

from __future__ import annotations

import klaviyo_api  # noqa: F401 - preloaded for the work horses
import tests.jobs._apps.rq_app  # noqa: F401 - preloaded for the work horses
from rq import Worker


class PreloadedWorker(Worker):
    """RQ's forking worker, with the kit's imports already done."""
