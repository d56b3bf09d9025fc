"""One shape for every benchmark's results; ``--json PATH`` writes them for the runner.

A measure is the kit's figure beside its baseline from the same run (so the ratio, not the
machine-dependent absolute, is compared) and the goal it is held to.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class Measure:
    """One figure of a benchmark.

    Attributes:
        measure: What was measured.
        kit: The kit's figure, in ``unit``.
        baseline: The baseline's figure from the same run (``None`` where the goal is absolute).
        unit: The unit of ``kit`` and ``baseline``.
        goal: The goal, as a person reads it (``">= 1.0x"``, ``"<= 64 MB"``).
        met: Whether the goal is met (``None``: not measurable at this size).
    """

    measure: str
    kit: float
    baseline: float | None
    unit: str
    goal: str
    met: bool | None

    @property
    def ratio(self) -> float | None:
        """``kit / baseline``, or ``None`` without a baseline."""
        return None if not self.baseline else self.kit / self.baseline


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--json PATH`` (where :func:`emit` writes the measures)."""
    parser.add_argument("--json", default=None, help="also write the measures to this file")


def emit(path: str | Path | None, measures: list[Measure]) -> None:
    """Write ``measures`` as JSON to ``path`` (nothing without a path)."""
    if path is None:
        return
    rows = [{**asdict(m), "ratio": m.ratio} for m in measures]
    with open(path, "w", encoding="utf-8") as file:  # noqa: PTH123 - str or Path
        json.dump(rows, file, indent=2)
