# Tests for rule subprocess-shell-with-dynamic-command (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import asyncio
import os
import shlex
import subprocess
from pathlib import Path

SCANNER = "clamscan --no-summary"


def scan_upload(path: Path) -> int:
    # ruleid: subprocess-shell-with-dynamic-command
    return subprocess.call(f"{SCANNER} {path}", shell=True)


def thumbnail(name: str) -> bytes:
    # ruleid: subprocess-shell-with-dynamic-command
    return subprocess.check_output("convert " + name + " -resize 128x128 png:-", shell=True)


def archive(owner_id: str, target: str) -> None:
    command = "tar czf {} /data/{}".format(target, owner_id)
    # ruleid: subprocess-shell-with-dynamic-command
    subprocess.run(command, shell=True, check=True)


def disk_usage(folder: str) -> str:
    # ruleid: subprocess-shell-with-dynamic-command
    return os.popen("du -sh %s" % folder).read()


def remove_folder(folder: str) -> None:
    # ruleid: subprocess-shell-with-dynamic-command
    os.system("rm -rf " + folder)


async def convert(source: str) -> None:
    # ruleid: subprocess-shell-with-dynamic-command
    process = await asyncio.create_subprocess_shell(f"ffmpeg -i {source} out.mp4")
    await process.wait()


def git_log(ref: str) -> str:
    # ruleid: subprocess-shell-with-dynamic-command
    return subprocess.getoutput(f"git log --oneline {ref}")


# --- what the project's scripts really do -------------------------------------------------------


def run_tool(tool: Path, *args: str) -> subprocess.CompletedProcess:
    # ok: subprocess-shell-with-dynamic-command
    return subprocess.run([str(tool), *args], capture_output=True, text=True, check=False)


def git_toplevel() -> str:
    # ok: subprocess-shell-with-dynamic-command
    return subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip()


def constant_pipeline() -> int:
    # ok: subprocess-shell-with-dynamic-command
    return subprocess.call("git ls-files | wc -l", shell=True)


def scanner_version() -> str:
    # ok: subprocess-shell-with-dynamic-command
    return subprocess.check_output(SCANNER + " --version", shell=True, text=True)


def quoted(path: Path) -> int:
    # ok: subprocess-shell-with-dynamic-command
    return subprocess.call(shlex.join(["clamscan", "--no-summary", str(path)]), shell=True)


def no_shell(name: str) -> None:
    # ok: subprocess-shell-with-dynamic-command
    subprocess.run(["convert", name, "-resize", "128x128", "thumb.png"], check=True)


def quoted_parts(path: Path, owner_id: str) -> int:
    # ok: subprocess-shell-with-dynamic-command
    return subprocess.call(f"clamscan --no-summary {shlex.quote(str(path))} > /tmp/{shlex.quote(owner_id)}.log", shell=True)


def run_shell_command(command: str) -> int:
    # A wrapper: the command is assembled (and checked) by its callers.
    # ok: subprocess-shell-with-dynamic-command
    return subprocess.call(command, shell=True)


def windows_npx() -> str:
    for candidate in ["npx.cmd", "npx.exe", "npx"]:
        # ok: subprocess-shell-with-dynamic-command
        subprocess.run([candidate, "--version"], check=True, capture_output=True, shell=True)
    return "npx"


def vcs_clone(url: str, filename: str) -> None:
    # setuptools' package_index before 70 (CVE-2024-6345): a URL from a package index page.
    # ruleid: subprocess-shell-with-dynamic-command
    os.system("git clone --quiet %s %s" % (url, filename))
