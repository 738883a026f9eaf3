"""docs/workshop.md is run, not just read.

Every ```sh block is a command a reader will paste. Unmarked blocks run here, section by section (a
`##` or `###` heading starts a section): one `bash -euo pipefail` per section, in a fresh copy of the
repository, so a section never leans on another one or on the state of this checkout. The comment on
the line above a block may say what it needs instead:

    <!-- needs: docker, trivy -->     what this machine lacks (KNOWN_NEEDS): only syntax-checked
    <!-- server -->                   `make run`: started on a free port before the section's other blocks
    <!-- needs: server -->            runs, against that server (PORT is set for the section)
    <!-- not-run: why -->             only for NOT_RUN commands, which must not run inside the suite

Static checks keep the rest honest: the rule table matches semgrep.yml, every `make` target and
script named exists, and every Semgrep call keeps metrics and the version check off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devtools.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "workshop.md"
README = ROOT / "README.md"
KNOWN_NEEDS = frozenset({"docker", "trivy", "aws", "node", "network", "server"})
# Commands that run fine here but not from inside the suite: the suite itself, and re-locking, which
# rewrites tracked files from the package index.
NOT_RUN = frozenset({"make test", "make lock"})
LANGUAGES = frozenset({"sh", "text", "yaml", "json", "python"})
# Every venv the Makefile builds (make venv tools): uv's, the app's, the scanners', checkov's.
VENVS = (".venv-uv", ".venv", ".venv-tools", ".venv-checkov")
SECTION_TIMEOUT = 240
SERVER_START_TIMEOUT = 60
# The caller's settings must not leak into the reader's commands: the guide sets what it needs itself
# (a SEMGREP_ENABLE_VERSION_CHECK inherited from CI would hide a guide that forgot it).
SCRUBBED = frozenset(
    {
        "SEMGREP_ENABLE_VERSION_CHECK",
        "REPORTS_DIR",
        "TOOLS_BIN",
        "DATA_DIR",
        "HOST",
        "PORT",
        "VIRTUAL_ENV",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "MAKEFLAGS",
        "MAKELEVEL",
        "MFLAGS",
        "MAKEOVERRIDES",
        "APP_MODE",
        "ENVIRONMENT",
        "JWT_SECRET",
        "JWT_SECRET_ARN",
        "CORS_ALLOW_ORIGINS",
        "AWS_ENDPOINT_URL",
    }
)
_HEADING = re.compile(r"^(#{1,3}) (?P<title>.+?)\s*$")
_FENCE_OPEN = re.compile(r"^```(?P<lang>[\w-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*(?P<body>.*?)\s*-->\s*$")
_RULE_ROW = re.compile(r"^\| `(?P<id>[a-z0-9-]+)` \| (?P<severity>[A-Z]+) \| (?P<threat>T-\d\d) \|")


@dataclasses.dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    section: str
    marker: str | None  # the body of the HTML comment right above the fence

    @property
    def needs(self) -> frozenset[str]:
        if self.marker and self.marker.startswith("needs:"):
            return frozenset(part.strip() for part in self.marker[len("needs:") :].split(","))
        return frozenset()

    @property
    def is_server(self) -> bool:
        return self.marker == "server"

    @property
    def runs(self) -> bool:
        """Run by this test: unmarked, or a client of the section's server."""
        return self.lang == "sh" and (self.marker is None or self.needs == {"server"})

    @property
    def commands(self) -> list[str]:
        lines = (line.split(" #", 1)[0].strip() for line in self.code.splitlines())
        return [line for line in lines if line and not line.startswith("#")]


def parse(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    section = "intro"
    index = 0
    while index < len(lines):
        heading = _HEADING.match(lines[index])
        opening = _FENCE_OPEN.match(lines[index])
        if heading:
            section = heading["title"]
        elif opening:
            end = index + 1
            while end < len(lines) and lines[end].rstrip() != "```":
                end += 1
            assert end < len(lines), f"docs/workshop.md:{index + 1}: unclosed code block"
            marker = _MARKER.match(lines[index - 1]) if index else None
            blocks.append(
                Block(
                    line=index + 1,
                    lang=opening["lang"],
                    code="\n".join(lines[index + 1 : end]) + "\n",
                    section=section,
                    marker=marker["body"] if marker else None,
                )
            )
            index = end
        index += 1
    return blocks


BLOCKS = parse(GUIDE.read_text(encoding="utf-8"))
SHELL = [block for block in BLOCKS if block.lang == "sh"]
SECTIONS: dict[str, list[Block]] = {}
for _block in SHELL:
    if _block.runs or _block.is_server:
        SECTIONS.setdefault(_block.section, []).append(_block)


def _where(block: Block) -> str:
    return f"docs/workshop.md:{block.line}"


def _output_of(block: Block) -> Block | None:
    """The ```text block that shows what `block` prints: the next block, if it is one."""
    following = BLOCKS[BLOCKS.index(block) + 1 :]
    if following and following[0].lang == "text" and following[0].section == block.section:
        return following[0]
    return None


def _note_above(block: Block) -> str:
    """The paragraph right above a block's fence (its *Needs* or *Illustrative* note, if any)."""
    lines = GUIDE.read_text(encoding="utf-8").splitlines()[: block.line - 1]
    while lines and not lines[-1].strip():
        lines.pop()
    paragraph: list[str] = []
    while lines and lines[-1].strip() and not lines[-1].startswith(("```", "<!--")):
        paragraph.insert(0, lines.pop())
    return " ".join(paragraph)


# A text block is the real output of its command, checked when the command runs here, unless the line
# above says it is not: output this machine cannot produce (no Docker, Trivy, AWS), or a first run.
_UNCHECKED_NOTES = ("*Illustrative", "*On a first run", "*Recorded ", "*With ", "*It prints")
_NO_OUTPUT = "(no output"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


# ------------------------------------------------------------------------------------ static checks


def test_the_guide_has_runnable_sections_for_each_part() -> None:
    # The parser found the guide's structure (a broken fence would silently hide blocks).
    assert len(SHELL) >= 30
    titles = " ".join(SECTIONS)
    for part in (
        "Run it",
        "Test the rules",
        ".trivyignore.yaml",
        "infra/template.yaml",
        "gate at a time",
        "Merge requests",
        "running server",
        "before you push",
    ):
        assert part in titles, f"no runnable block under a heading about {part!r}"
    assert sum(block.runs for block in SHELL) >= 20


def test_every_block_has_a_known_language() -> None:
    unknown = [f"{_where(block)}: ```{block.lang}" for block in BLOCKS if block.lang not in LANGUAGES]
    # Shell commands are ```sh so that this test finds them all (not bash, shell or console).
    assert unknown == []
    # The parser reads fences at the start of a line only: an indented one would hide its commands.
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    assert [n for n, line in enumerate(lines, 1) if re.match(r"\s+(```|~~~)|~~~", line)] == []


def test_every_shell_block_runs_here_or_says_what_it_needs() -> None:
    problems = []
    for block in SHELL:
        if block.marker is None or block.is_server:
            continue
        if block.marker.startswith("needs:"):
            unknown = block.needs - KNOWN_NEEDS
            if unknown or not block.needs:
                problems.append(f"{_where(block)}: unknown needs {sorted(unknown)}")
        elif block.marker.startswith("not-run:"):
            reason = block.marker[len("not-run:") :].strip()
            if not reason or not set(block.commands) <= NOT_RUN:
                problems.append(f"{_where(block)}: not-run is for {sorted(NOT_RUN)}, with a reason")
        else:
            problems.append(f"{_where(block)}: unknown marker {block.marker!r}")
    assert problems == []


def test_every_command_shows_its_expected_output() -> None:
    # A room follows along by comparing: every command is followed by what it prints (trimmed with ...).
    missing = [_where(block) for block in SHELL if _output_of(block) is None]
    assert missing == []


def test_output_that_was_not_recorded_here_says_so() -> None:
    # What needs Docker, Trivy, AWS, node or the network is checked by nobody here: the reader is told
    # whether it was recorded, and where, or is illustrative.
    unsaid = []
    for block in SHELL:
        output = _output_of(block)
        if (
            output is not None
            and block.needs - {"server"}
            and not _note_above(output).startswith(_UNCHECKED_NOTES)
        ):
            unsaid.append(f"{_where(output)}: {_note_above(output)!r}")
    assert unsaid == []


def test_every_mark_is_visible_in_the_rendered_page() -> None:
    # The HTML comment is for this test; the reader sees the line above it.
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    hidden = []
    for block in SHELL:
        visible = lines[block.line - 3] if block.line >= 3 else ""
        if block.needs and not visible.startswith(f"*Needs: {(block.marker or '')[len('needs:') :].strip()}"):
            hidden.append(f"{_where(block)}: {visible!r}")
        if block.marker and block.marker.startswith("not-run:") and not visible.startswith("*Not run by"):
            hidden.append(f"{_where(block)}: {visible!r}")
    assert hidden == []


_FIXED_PORT = re.compile(r"(?<![-:])(?:127\.0\.0\.1|localhost):(?:8000|5000)\b")


def test_examples_use_the_port_variables_not_fixed_ports() -> None:
    # PORT=9000 make run, or a MOTO_PORT someone else took: every pasted command must follow.
    fixed = [
        f"{path.name}:{block.line}: {line.strip()}"
        for path in (README, GUIDE)
        for block in parse(path.read_text(encoding="utf-8"))
        if block.lang == "sh"
        for line in block.code.splitlines()
        if _FIXED_PORT.search(line)
    ]
    assert fixed == []


def test_marked_lines_are_only_ever_in_front_of_shell_blocks() -> None:
    # A marker in front of a text block would be a command that silently stopped being tested.
    assert [_where(b) for b in BLOCKS if b.marker and b.lang != "sh"] == []


def test_server_blocks_start_make_run_before_their_clients() -> None:
    for section, blocks in SECTIONS.items():
        servers = [block for block in blocks if block.is_server]
        clients = [block for block in blocks if "server" in block.needs]
        assert len(servers) <= 1, section
        if clients or servers:
            assert servers, f"{section}: `needs: server` blocks without a `server` block"
            assert blocks[0].is_server, f"{section}: the server block must come first"
            assert servers[0].commands == ["make run"], _where(servers[0])
    assert any(block.is_server for block in SHELL)
    # A client block outside any runnable section would never run.
    orphans = [_where(b) for b in SHELL if "server" in b.needs and b.section not in SECTIONS]
    assert orphans == []


def test_every_shell_block_is_valid_bash() -> None:
    broken = []
    for block in SHELL:
        done = subprocess.run(
            ["bash", "-n"], input=block.code, capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode != 0:
            broken.append(f"{_where(block)}: {done.stderr.strip()}")
    assert broken == []


def test_make_targets_scripts_and_tests_named_by_the_guide_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    missing = []
    for block in SHELL:
        for target in re.findall(r"(?:^|[;&|]\s*)make ((?:[a-z][a-z-]* ?)+)", block.code, re.MULTILINE):
            missing += [f"{_where(block)}: make {t}" for t in target.split() if t not in targets]
        paths = re.findall(
            r"(?<![\w./-])((?:ci|scripts|infra|tools)/[\w./-]+|tests/test_\w+\.py)", block.code
        )
        missing += [f"{_where(block)}: {path}" for path in paths if not (ROOT / path).exists()]
    assert missing == []


def test_every_semgrep_call_keeps_metrics_and_the_version_check_off() -> None:
    problems = []
    for section in {block.section for block in SHELL}:
        code = "".join(block.code for block in SHELL if block.section == section)
        calls = [line for line in code.splitlines() if ".venv-tools/bin/semgrep" in line]
        if not calls:
            continue
        # Without it, semgrep waits about 100 s for PyPI before every run when offline.
        if "export SEMGREP_ENABLE_VERSION_CHECK=0" not in code.split(".venv-tools/bin/semgrep", 1)[0]:
            problems.append(f"{section}: export SEMGREP_ENABLE_VERSION_CHECK=0 before calling semgrep")
        for call in calls:
            if " scan " in call and "--metrics=off" not in call:
                problems.append(f"{section}: {call.strip()}")
    assert problems == []


def test_the_rule_table_is_semgrep_yml() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    table = {m["id"]: (m["severity"], m["threat"]) for m in map(_RULE_ROW.match, text.splitlines()) if m}
    rules = yaml.safe_load((ROOT / "semgrep.yml").read_text(encoding="utf-8"))["rules"]
    assert table == {rule["id"]: (rule["severity"], rule["metadata"]["threat"]) for rule in rules}


# --------------------------------------------------------------------------------- running the guide


def _git(cwd: Path, *args: str) -> None:
    identity = ["-c", "user.name=workshop-test", "-c", "user.email=workshop-test@example.invalid"]
    subprocess.run(
        ["git", *identity, "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=60,
    )


def copy_repository(dest: Path, env: dict[str, str]) -> Path:
    """The files a commit could contain, as they are in the working tree, in a new git repository
    whose virtual environments are links to this checkout's."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_symlink() or source.is_file():  # a deleted file is still listed until staged
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            # copy2 keeps modification times, which make compares to decide the venvs are built.
            shutil.copy2(source, dest / name, follow_symlinks=False)
    for venv in VENVS:
        (dest / venv).symlink_to(ROOT / venv)
    _git(dest, "init", "-q")
    _git(dest, "symbolic-ref", "HEAD", "refs/heads/main")
    # .gitignore's `.venv*/` matches directories, not the links.
    with (dest / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.writelines(f"/{venv}\n" for venv in VENVS)
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "workshop copy")
    # Through the links, a make that found the venvs stale would rebuild this checkout's.
    fresh = subprocess.run(
        ["make", "-q", *(f"{venv}/.installed" for venv in VENVS)],
        cwd=dest,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if fresh.returncode != 0:
        pytest.fail("run `make venv tools` first: the virtual environments are missing or stale")
    return dest


def _environment(port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith(("PYTEST_", "COV_CORE_"))
    }
    env["PORT"] = str(port)
    return env


def _wait_for_health(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    url = f"http://127.0.0.1:{port}/health"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"`make run` exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(
        f"`make run` did not answer {url} within {SERVER_START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
    )


def _stop(server: subprocess.Popen[bytes]) -> None:
    # The server block runs in its own session: make, uvicorn and anything else it started go together.
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


def _script(blocks: list[Block]) -> str:
    # The marker line before each block says which one failed.
    return "".join(f"printf '\\n>>> {_where(block)}\\n'\n{block.code}" for block in blocks)


@contextlib.contextmanager
def _serving(block: Block, repo: Path, env: dict[str, str], log: Path) -> Iterator[None]:
    """The guide's `make run` block, started as a reader would, until it answers /health."""
    with log.open("ab") as sink:
        server = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", block.code],
            cwd=repo,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_health(int(env["PORT"]), server, log)
        yield
    finally:
        _stop(server)


def _run_script(blocks: list[Block], repo: Path, env: dict[str, str], script: Path, what: str) -> str:
    script.write_text(_script(blocks))
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", str(script)],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=SECTION_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout if isinstance(expired.stdout, str) else (expired.stdout or b"").decode()
        pytest.fail(f"{what}: still running after {SECTION_TIMEOUT} s:\n{output[-6000:]}")
    assert done.returncode == 0, done.stdout[-6000:]
    return done.stdout


def _outputs(script_output: str) -> dict[int, str]:
    """What each block printed, by the line of its fence (the markers `_script` prints)."""
    parts = re.split(r"^>>> docs/workshop\.md:(\d+)$", script_output, flags=re.MULTILINE)
    return {int(line): text for line, text in zip(parts[1::2], parts[2::2], strict=True)}


def _pattern(expected_line: str) -> re.Pattern[str]:
    # Adjacent `...` (a tool's dot leaders, as in pre-commit's "ruff.......Passed") make one wildcard:
    # a run of `.*` backtracks exponentially on a line that does not match, and the test hangs.
    pieces: list[str] = []
    for index, part in enumerate(expected_line.split("...")):
        if index and pieces[-1:] != [".*"]:
            pieces.append(".*")
        if part:
            pieces.append(re.escape(part))
    return re.compile("".join(pieces))


def _squeezed(line: str) -> str:
    # Column widths follow the values (timings, counts): compare words, not spaces.
    return " ".join(line.split())


def _differences_from_the_guide(blocks: list[Block], script_output: str, *, port: str) -> list[str]:
    """Each expected line (`...` matches anything) must be found in what its command printed, in order;
    "(no output" means the command prints nothing. The guide's port is the default, 8000."""
    printed = _outputs(script_output)
    problems = []
    for block in blocks:
        output = _output_of(block)
        if block.is_server or output is None or _note_above(output).startswith(_UNCHECKED_NOTES):
            continue
        actual = [_squeezed(line) for line in printed.get(block.line, "").splitlines() if line.strip()]
        if output.code.startswith(_NO_OUTPUT):
            if actual:
                problems.append(f"{_where(output)}: expected no output, got {actual[:3]}")
            continue
        position = 0
        for wanted in output.code.splitlines():
            wanted = _squeezed(wanted.replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
            if not wanted or wanted == "...":
                continue
            pattern = _pattern(wanted)
            found = next((i for i in range(position, len(actual)) if pattern.fullmatch(actual[i])), None)
            if found is None:
                shown = "\n".join(actual[position:][:40])
                problems.append(
                    f"{_where(output)}: {wanted!r} not printed; after that point it printed:\n{shown}"
                )
                break
            position = found + 1
    return problems


def _git_status(repo: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True, timeout=60
    ).stdout


@pytest.mark.slow
@pytest.mark.parametrize("section", list(SECTIONS), ids=[_slug(title) for title in SECTIONS])
def test_section_runs_as_written(section: str, tmp_path: Path) -> None:
    env = _environment(free_port())
    repo = copy_repository(tmp_path / "repo", env)
    blocks = SECTIONS[section]
    script = tmp_path / "section.sh"
    if blocks[0].is_server:
        with _serving(blocks[0], repo, env, tmp_path / "server.log"):
            output = _run_script(blocks[1:], repo, env, script, section)
    else:
        output = _run_script(blocks, repo, env, script, section)
    assert _differences_from_the_guide(blocks, output, port=env["PORT"]) == []
    # Each section leaves the tree as it found it (an exercise's undo included), so a reader can run
    # them in any order, and again.
    assert _git_status(repo) == "", f"{section} left the tree changed"


def _server_blocks(path: Path) -> list[Block]:
    return [b for b in parse(path.read_text(encoding="utf-8")) if b.lang == "sh" and b.needs == {"server"}]


@pytest.mark.slow
def test_the_first_hour_twice_on_one_data_directory(tmp_path: Path) -> None:
    """README's "Try it", then the workshop's commands against the server, then the black-box suite
    as README points it at a server: on one server and one data directory, and again the next day
    (the server restarted on the same data), as a participant who already tried things would."""
    env = _environment(free_port())
    env["DATA_DIR"] = str(tmp_path / "data")  # the server's and make make-admin's, as README says
    repo = copy_repository(tmp_path / "repo", env)
    readme = _server_blocks(README)
    try_it = [b for b in readme if "pytest" not in b.code]
    suite = [b for b in readme if "pytest" in b.code]
    workshop = [b for b in SHELL if b.needs == {"server"}]
    assert try_it, "README has no `needs: server` block for Try it"
    assert suite, "README has no `needs: server` block running the black-box suite"
    assert workshop
    server = next(block for block in SHELL if block.is_server)
    for day in (1, 2):
        with _serving(server, repo, env, tmp_path / "server.log"):
            out = _run_script(
                [*try_it, *workshop, *suite], repo, env, tmp_path / f"day{day}.sh", f"day {day}"
            )
        assert "Traceback" not in out, out[-6000:]
        assert " passed" in out, out[-3000:]
        if day == 2:
            assert "Username already taken" in out  # README's alice is there from day 1, and that is fine
        # Nothing of the hour lands in the checkout (the data is in DATA_DIR, uploads come from mktemp).
        assert _git_status(repo) == "", f"day {day} left the tree changed"


def test_installs_show_progress() -> None:
    # A first `make venv tools` takes minutes: a silent one looks hung to a room of newcomers.
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [line for line in makefile.splitlines() if re.search(r"pip install|UV_INSTALL =", line)]
    assert installs
    assert [line for line in installs if "--quiet" in line or " -q " in line] == []
