"""Interleaved repetitions and medians: on a noisy machine only same-run ratios mean anything."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


def interleaved(cases: Mapping[str, Callable[[], float | None]], *, repeats: int) -> dict[str, list[float]]:
    """Runs every case once per round, round after round, so drift hits all cases alike.

    A case returns its own measured seconds, or None to be timed from outside.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            started = time.perf_counter()
            measured = case()
            samples[name].append(measured if measured is not None else time.perf_counter() - started)
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def figure(
    name: str, measured: list[float], baseline: list[float], *, target: float | None, unit: str = "s"
) -> dict[str, object]:
    value, floor = median(measured), median(baseline)
    ratio = value / floor if floor else float("inf")
    return {
        "name": name,
        "value": value,
        "baseline": floor,
        "unit": unit,
        "ratio": round(ratio, 3),
        "target": target,
        "met": None if target is None else ratio <= target,
        "samples": len(measured),
    }
