"""The mutant catalogue cannot rot silently: every threat of docs/threat-model.md has a mutant, and every
mutant still applies to the tree as it is (its old text occurs exactly once) and yields code that still
compiles. Whether the mutants are killed is `make mutants`' job, not this fast check."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.mutants.catalogue import CatalogueError, Mutant, load
from tests.support.paths import REPO_ROOT

MUTANTS = load()
_THREAT_ROW = re.compile(r"^\| (T-\d{2}) \|", re.M)


def _threat_ids() -> set[str]:
    return set(_THREAT_ROW.findall((REPO_ROOT / "docs" / "threat-model.md").read_text()))


def _tracked() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return set(listed.stdout.splitlines())


def test_every_threat_has_a_mutant_and_every_mutant_a_threat() -> None:
    threats = _threat_ids()
    assert len(threats) >= 25
    covered = {mutant.threat for mutant in MUTANTS}
    assert sorted(threats - covered) == []
    assert sorted(covered - threats) == []


def test_every_mutant_edits_a_tracked_file() -> None:
    tracked = _tracked()
    assert sorted(m.id for m in MUTANTS if m.file not in tracked) == []


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_applies_to_the_current_tree(mutant: Mutant) -> None:
    text = (REPO_ROOT / mutant.file).read_text(encoding="utf-8")
    mutated = mutant.mutated(text)  # raises unless the old text occurs exactly once
    assert mutated != text
    if mutant.file.endswith(".py"):
        compile(mutated, mutant.file, "exec")  # a mutant is a regression, never a syntax error


def test_a_mutant_whose_text_moved_is_refused() -> None:
    mutant = MUTANTS[0]
    with pytest.raises(CatalogueError, match="occurs 0 times"):
        mutant.mutated("nothing of the original here")
    with pytest.raises(CatalogueError, match="occurs 2 times"):
        mutant.mutated(mutant.old + mutant.old)


def test_a_malformed_entry_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[mutant]]\nid = "T01-x"\nthreat = "T-02"\nfile = "a"\ndescription = "d"\nold = "a"\nnew = "b"\n'
    )
    with pytest.raises(CatalogueError, match="number is not its threat"):
        load(bad)
    bad.write_text('[[mutant]]\nid = "T01-x"\nthreat = "T-01"\nfile = "a"\ndescription = "d"\nold = "a"\n')
    with pytest.raises(CatalogueError, match="missing"):
        load(bad)
