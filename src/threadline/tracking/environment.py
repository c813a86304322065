"""What a run captures about its process without being asked: code, Python, packages, host, command.

Everything here is computed once per process and cached (a forked child inherits the cache): git is
asked once (three quick ``git`` calls, in the background thread, never on the user's), and the list of
installed packages is read once through ``importlib.metadata`` (no ``pip freeze`` subprocess). That
list is stored once as an object in the artifact store (``name==version`` lines, sorted); runs refer to
it by its id, which is also its hash, so a thousand runs in one environment cost one small object.

Changes made while a process runs (a commit, an edit that makes the tree dirty, a package installed)
are therefore not seen by that process's later runs: each process records the state it started in.
"""

from __future__ import annotations

import getpass
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

_GIT_TIMEOUT = 5.0
_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")
_lock = threading.Lock()
_git_cache: dict[str, GitInfo | None] = {}
_packages_cache: list[str] | None = None


@dataclass(frozen=True)
class GitInfo:
    """The git state of the code: commit, branch, whether tracked files were modified, remote URL."""

    root: str
    commit: str
    branch: str | None
    dirty: bool
    remote: str | None
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The state as the ``git`` part of the environment facet (absent values left out)."""
        data: dict[str, Any] = {"commit": self.commit, "dirty": self.dirty, "root": self.root}
        for name in ("branch", "remote", "path"):
            value = getattr(self, name)
            if value:
                data[name] = value
        return data


def _git(folder: str, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", folder, *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def strip_credentials(url: str) -> str:
    """A remote URL without the ``user:token@`` part that HTTPS remotes sometimes carry."""
    return _CREDENTIALS.sub("", url)


def git_info(folder: str | os.PathLike[str] | None = None) -> GitInfo | None:
    """The git state of the repository holding ``folder`` (default: the main script's), cached per root.

    ``None`` when the folder is not in a git repository or git is not installed. ``dirty`` counts
    modified tracked files only: untracked files (outputs, caches) do not make a tree dirty here.
    """
    start = os.fspath(folder) if folder is not None else script_folder()
    with _lock:
        if start in _git_cache:
            return _git_cache[start]
    info = None
    top = _git(start, "rev-parse", "--show-toplevel")
    commit = _git(start, "rev-parse", "HEAD") if top else None
    if top and commit:
        branch = _git(start, "rev-parse", "--abbrev-ref", "HEAD")
        status = _git(start, "status", "--porcelain", "--untracked-files=no")
        remote = _git(start, "config", "--get", "remote.origin.url")
        script = main_script()
        rel = None
        if script is not None:
            try:
                rel = Path(script).resolve().relative_to(Path(top).resolve()).as_posix()
            except ValueError:
                rel = None
        info = GitInfo(
            root=top,
            commit=commit,
            branch=None if branch in (None, "HEAD") else branch,
            dirty=bool(status),
            remote=strip_credentials(remote) if remote else None,
            path=rel,
        )
    with _lock:
        _git_cache[start] = info
    return info


def main_script() -> str | None:
    """The path of the script being run, or ``None`` (an interactive shell, a notebook, ``python -c``)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return None
    if "ipykernel" in path or path.endswith("ipykernel_launcher.py"):
        return notebook_path()
    return os.path.abspath(path)  # noqa: PTH100 - a plain string is what is recorded


def notebook_path() -> str | None:
    """The notebook's path when Jupyter says it (``JPY_SESSION_NAME``, set by Jupyter Server 2)."""
    session = os.environ.get("JPY_SESSION_NAME")
    return os.path.abspath(session) if session else None  # noqa: PTH100


def in_notebook() -> bool:
    """Whether this process is a Jupyter (IPython) kernel."""
    return "ipykernel" in sys.modules


def script_folder() -> str:
    """The folder of the main script, or the working folder when there is no script file."""
    script = main_script()
    if script is not None:
        return os.path.dirname(script)  # noqa: PTH120
    return os.getcwd()  # noqa: PTH109


def command_line() -> str:
    """How this process was started, for people to read.

    A notebook kernel's argv is its launcher and a connection file, which says nothing; such a
    process is recorded as ``jupyter kernel`` (with the notebook's path when Jupyter gives it).
    ``python -c`` and interactive shells are recorded as what they are.
    """
    if in_notebook():
        notebook = notebook_path()
        return f"jupyter kernel: {notebook}" if notebook else "jupyter kernel"
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    if not argv or argv == [sys.executable] or argv[-1:] == [""]:
        return f"{sys.executable} (interactive)"
    return shlex.join(argv)


def installed_packages() -> list[str]:
    """``name==version`` of every installed distribution, sorted, read once per process."""
    global _packages_cache  # noqa: PLW0603 - a per-process cache
    with _lock:
        if _packages_cache is not None:
            return _packages_cache
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
        except (KeyError, OSError):  # a broken dist-info folder: skip it rather than fail
            continue
        if name:
            canonical = re.sub(r"[-_.]+", "-", name).lower()
            found.setdefault(canonical, dist.version or "")
    packages = sorted(f"{name}=={version}" for name, version in found.items())
    with _lock:
        _packages_cache = packages
    return packages


def packages_bytes(packages: list[str]) -> bytes:
    """The stored form of a package list: one ``name==version`` per line, like ``pip freeze``."""
    return "".join(f"{line}\n" for line in packages).encode()


def parse_packages(data: bytes) -> dict[str, str]:
    """A stored package list back as ``{name: version}``."""
    result: dict[str, str] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        name, _, version = line.partition("==")
        if name:
            result[name] = version
    return result


@dataclass
class Environment:
    """The process facts every run records, gathered once."""

    python: str
    implementation: str
    platform: str
    host: str
    command_line: str
    user: str | None
    cwd: str
    pid: int
    packages: list[str] = field(default_factory=list)
    git: GitInfo | None = None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return None


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603 - another thread may have held it at the fork
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def current_environment() -> Environment:
    """Gather the environment of this process (cached parts are not gathered again)."""
    return Environment(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(terse=True),
        host=socket.gethostname(),
        command_line=command_line(),
        user=_user(),
        cwd=os.getcwd(),  # noqa: PTH109
        pid=os.getpid(),
        packages=installed_packages(),
        git=git_info(),
    )
