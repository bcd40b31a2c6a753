"""What every benchmark shares: the result record, timing and memory helpers.

Timings are the best of a few rounds: other processes share this 2-core
machine, and the best round is the one least disturbed by them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/ first, not the project
    sys.path.insert(0, str(ROOT))


@dataclass
class Result:
    """One figure. `ratio` is value / peer's value, where `peer` names another result."""

    name: str
    value: float
    unit: str
    peer: str | None = None
    ratio: float | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class Results(list[Result]):
    def add(self, name: str, value: float, unit: str, peer: str | None = None, *, invert: bool = False) -> Result:
        """Record a figure; with a peer, the ratio is value / peer (peer / value when `invert`:
        for costs such as bytes, where less is better)."""
        ratio = None
        if peer is not None:
            other = next(r.value for r in self if r.name == peer)
            ratio = (other / value if invert else value / other) if value and other else None
        result = Result(name, value, unit, peer, ratio)
        self.append(result)
        return result

    def print(self, title: str) -> None:
        print(f"\n{title}")
        for r in self:
            versus = f"  {r.ratio:8.2f}x {r.peer}" if r.ratio is not None else ""
            print(f"  {r.name:52s} {r.value:14,.2f} {r.unit:16s}{versus}")


def best_rate(work: Callable[[], int], rounds: int = 3) -> float:
    """Items per second of `work()` (which returns how many items it did), best of `rounds`."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        done = work()
        best = max(best, done / (time.perf_counter() - start))
    return best
