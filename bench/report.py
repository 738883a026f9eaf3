"""Renders results.json as the README's benchmark table, between two marker comments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


def _format(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.1f} {unit}"


def table(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"Measured {results['date']} on {machine['platform']}, Python {machine['python']}, "
        f"{machine['cpus']} CPUs (`make bench`, {results['wall_seconds']} s).",
        "",
        "| figure | value | baseline | ratio | target | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in results["figures"]:
        target = item["target"]
        higher_is_better = item["unit"] in {"req/s"}
        bound = "" if target is None else (f">= {target}x" if higher_is_better else f"<= {target}x")
        if item["unit"] == "fetches" or item["name"].startswith("gates"):
            bound = "" if target is None else f"<= {target}"
        verdict = {True: "met", False: "**missed**", None: ""}[item["met"]]
        lines.append(
            f"| {item['name']} | {_format(item['value'], item['unit'])} | "
            f"{_format(item['baseline'], item['unit'])} | {item['ratio']} | {bound} | {verdict} |"
        )
    return "\n".join(lines)


def update_readme(path: Path, results: dict[str, Any]) -> None:
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{table(results)}\n{END}{tail}")
