"""The security mutant catalogue (catalogue.toml): loading, validating and applying one mutant."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CATALOGUE = Path(__file__).with_name("catalogue.toml")
GATES = frozenset({"lint", "sast", "secrets", "config"})
_ID = re.compile(r"T\d{2}-[a-z0-9-]+")
_THREAT = re.compile(r"T-\d{2}")
_FIELDS = {"id", "threat", "file", "description", "old", "new", "gates"}


class CatalogueError(Exception):
    """The catalogue is malformed, or a mutant no longer applies to the tree."""


@dataclass(frozen=True)
class Mutant:
    id: str
    threat: str
    file: str
    description: str
    old: str
    new: str
    gates: tuple[str, ...] = ()

    def mutated(self, text: str) -> str:
        """`text` with the edit applied; the old text must occur exactly once."""
        count = text.count(self.old)
        if count != 1:
            raise CatalogueError(f"{self.id}: old text occurs {count} times in {self.file}, expected once")
        return text.replace(self.old, self.new)

    def apply(self, root: Path) -> None:
        path = root / self.file
        path.write_text(self.mutated(path.read_text(encoding="utf-8")), encoding="utf-8")


def load(path: Path = CATALOGUE) -> list[Mutant]:
    with path.open("rb") as handle:
        entries = tomllib.load(handle).get("mutant", [])
    mutants: list[Mutant] = []
    for entry in entries:
        where = entry.get("id", f"entry {len(mutants) + 1}")
        missing = {"id", "threat", "file", "description", "old", "new"} - entry.keys()
        unknown = entry.keys() - _FIELDS
        if missing or unknown:
            raise CatalogueError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        gates = tuple(entry.get("gates", ()))
        if not _ID.fullmatch(entry["id"]) or not _THREAT.fullmatch(entry["threat"]):
            raise CatalogueError(f"{where}: id must look like T07-what-breaks, threat like T-07")
        if entry["id"][1:3] != entry["threat"][2:]:
            raise CatalogueError(f"{where}: the id's number is not its threat's")
        if set(gates) - GATES:
            raise CatalogueError(f"{where}: unknown gates {sorted(set(gates) - GATES)}")
        if not entry["old"] or entry["old"] == entry["new"]:
            raise CatalogueError(f"{where}: an edit needs an old text and a different new one")
        mutants.append(Mutant(**{**entry, "gates": gates}))
    ids = [mutant.id for mutant in mutants]
    if len(set(ids)) != len(ids):
        raise CatalogueError(f"duplicate mutant ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return mutants
