"""Every `threadline …` command of the documentation's shell examples works on the demo data, typed as
written: README.md and every page of the site in docs/ (`tests.documents`).

The documentation says to try its commands in the demo project (`make demo`, then `cd .demo`). This
test builds that project, then runs each shell block's `threadline` lines in order (README.md, then the
pages in the site's nav order), with bash in the demo folder and the test's interpreter's `bin/` first
on PATH (what `. .venv/bin/activate` does): each must exit 0 without a traceback. The documents'
Python examples that `import threadline` run there too.

Only three things are changed, each listed below with its reason: ids that differ in every demo
(`PLACEHOLDERS`: run ids, object ids), commands that cannot run here (`SKIPPED`: a remote server,
a long-running server), and commands that run in another folder (`ELSEWHERE`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.demo.conftest import build_demo
from tests.documents import documents

pytestmark = pytest.mark.slow

#: The documents whose examples must work on the demo data: README.md and every page of docs/.
DOCUMENTS: tuple[str, ...] = tuple(documents())

_CATALOG_SERVER = "needs a threadline server (origin); tests/cli/test_catalog.py runs the commands over one"
#: Commands that are not run, each with why. Keys are the command as written (comments removed).
SKIPPED: dict[str, str] = {
    "threadline serve": "runs until Ctrl+C; tests/server/test_serve_process.py runs it for real",
    "threadline serve --metrics auth": "runs until Ctrl+C; tests/server/test_metrics.py serves each setting",
    "threadline serve --store postgresql://threadline@db.internal:5432/lineage --host 0.0.0.0 --port 5001": (
        "needs a remote PostgreSQL server (db.internal); tests/server/test_scale_out.py runs three servers"
    ),
    "threadline serve --store postgresql://threadline@db.internal:5432/lineage --host 0.0.0.0 --port 5002": (
        "needs a remote PostgreSQL server (db.internal); tests/server/test_scale_out.py runs three servers"
    ),
    "threadline serve --store postgresql://threadline@db.internal:5432/lineage --host 0.0.0.0 --port 5003": (
        "needs a remote PostgreSQL server (db.internal); tests/server/test_scale_out.py runs three servers"
    ),
    "threadline serve --store postgresql://tl@db/lineage --host 0.0.0.0 --port 5000": (
        "needs a remote PostgreSQL server (db)"
    ),
    "threadline serve --auth none --host 0.0.0.0": (
        "listens on every address of the machine until Ctrl+C; tests/server covers --auth none"
    ),
    "threadline ingest a.json b.jsonl --store postgresql://tl@db/lineage": (
        "needs a remote PostgreSQL server (db)"
    ),
    "threadline artifacts push s3://bucket/threadline": "needs a remote object store (an S3 bucket)",
    "threadline artifacts pull origin blake3:9f3c….dir": "needs a remote (origin)",
    "threadline status": "needs a remote threadline server (origin)",
    "threadline push --artifacts": "needs a remote threadline server (origin)",
    "threadline pull --node dataset:warehouse:analytics.orders --upstream --depth 3 --artifacts": (
        "needs a remote threadline server (origin)"
    ),
    "threadline serve --pull-from https://edge-1.example.com --pull-from hpc --pull-every 60 "
    "--pull-filter 'namespace=prod'": "needs remote threadline servers",
    "threadline restore 3f2a9c1e --to r/ --remote origin": "needs a remote (origin)",
    "threadline remote add origin https://lineage.example.com --key-env CATALOG_KEY": (
        "adds a remote that the next commands need running; tests/cli/test_catalog.py adds one for real"
    ),
    "threadline catalog apply examples/catalog/ml-pipelines.yaml --server origin --dry-run": _CATALOG_SERVER,
    "threadline catalog apply examples/catalog/ml-pipelines.yaml --server origin": _CATALOG_SERVER,
    "threadline catalog search 'tag:lineage_notes.usage:training' --server origin": _CATALOG_SERVER,
    "threadline catalog tag set machine-learning-pipelines ml-pipeline lineage_notes usage=scoring "
    "source=clicks transformation=sessions --server origin": _CATALOG_SERVER,
}
#: Commands run in a new empty folder instead of the demo project, each with why.
ELSEWHERE: dict[str, str] = {
    "threadline init": "makes a new project, so it runs where there is none",
}


def _run_id(position: int) -> Callable[[Path], str]:
    """The id prefix of the demo's ``position``-th churn pipeline run (oldest first)."""

    def find(folder: Path) -> str:
        listed = json.loads(
            _threadline(folder, "runs", "--pipeline", "churn", "--format", "json", "-n", "100")
        )
        names = [run["job"]["name"] if isinstance(run["job"], dict) else run["job"] for run in listed]
        oldest_first = [run["id"] for run, name in zip(listed, names, strict=True) if name == "churn"][::-1]
        return str(oldest_first[position])[:8]

    return find


def _stored_folder(folder: Path) -> str:
    """The object id of the demo's data/raw folder, as `threadline artifacts add` prints it."""
    added = _threadline(folder, "artifacts", "add", "data/raw/")
    return added.split()[0]


#: Ids in the documents that stand for ones that differ in every project (they say so), and how
#: the test finds the demo's own: the third churn run (whose input file is still as it read it, so
#: it can be snapshotted) and the first (which read other data), the stored data/raw folder.
PLACEHOLDERS: dict[str, Callable[[Path], str]] = {
    "3f2a9c1e": _run_id(2),
    "7b41d0aa": _run_id(0),
    "blake3:9f3c….dir": _stored_folder,
}


@dataclass
class Command:
    """One command of a shell block: where it is, and its text with continuations joined."""

    line: int
    #: As written, without its comment.
    bare: str


@dataclass
class Block:
    """A fenced code block of a document."""

    document: str
    line: int
    language: str
    text: str
    commands: list[Command] = field(default_factory=list)

    @property
    def id(self) -> str:
        first = self.commands[0].bare if self.commands else self.language
        return f"{self.document}:{self.line}:{first[:40]}"


_FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(document: str) -> list[Block]:
    """The fenced code blocks of ``document``, with the `threadline` commands of the shell ones."""
    found: list[Block] = []
    current: Block | None = None
    for number, line in enumerate((ROOT / document).read_text(encoding="utf-8").splitlines(), 1):
        fence = _FENCE.match(line)
        if fence and current is None:
            current = Block(document, number + 1, fence.group(1), "")
        elif line.startswith("```") and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            current.text += line + "\n"
    for block in found:
        if block.language not in ("sh", "bash", "shell", "console"):
            continue
        pending = ""
        first = 0
        for offset, line in enumerate(block.text.splitlines()):
            if not pending:
                first = block.line + offset
            if line.rstrip().endswith("\\"):
                pending += line.strip()[:-1].rstrip() + " "
                continue
            text, pending = (pending + line.strip()).strip(), ""
            if text.startswith("threadline ") or text == "threadline" or "| threadline" in text:
                block.commands.append(Command(first, _strip_comment(text)))
    return found


def _strip_comment(text: str) -> str:
    """The command without a trailing `# comment` (a `#` inside a word, as in `…#VERSION`, stays)."""
    return re.sub(r"\s+#\s.*$", "", text).strip()


SHELL_BLOCKS = [b for d in DOCUMENTS for b in blocks(d) if b.commands]
PYTHON_BLOCKS = [
    b for d in DOCUMENTS for b in blocks(d) if b.language == "python" and "import threadline" in b.text
]


def _without_missing_tools(text: str) -> str:
    """``text`` up to the first pipe into a program this machine lacks (such as Graphviz's dot, which
    is no dependency of threadline): the threadline part still runs, its output is dropped."""
    parts = text.split(" | ")
    for index, part in enumerate(parts[1:], 1):
        program = part.split()[0]
        if shutil.which(program) is None:
            return " | ".join(parts[:index]) + " > /dev/null"
    return text


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["COLUMNS"] = "200"
    env["HOME"] = str(Path(os.environ.get("HOME", "/root")))
    return env


def _threadline(folder: Path, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "threadline", *arguments],
        cwd=folder,
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, f"threadline {' '.join(arguments)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def readme_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo project of this module's own: the documents' commands change it (tokens, snapshots…)."""
    return build_demo(tmp_path_factory.mktemp("readme") / "demo")


@pytest.fixture(scope="module")
def placeholders(readme_demo: Path) -> dict[str, str]:
    return {text: find(readme_demo) for text, find in PLACEHOLDERS.items()}


def test_the_documents_have_commands() -> None:
    assert "README.md" in DOCUMENTS
    assert "docs/commands/serve.md" in DOCUMENTS
    assert len(SHELL_BLOCKS) >= 10
    assert sum(len(block.commands) for block in SHELL_BLOCKS) >= 40
    assert PYTHON_BLOCKS


def test_every_exception_names_a_command_that_is_there() -> None:
    """A skip or a placeholder for a command the documents no longer have is stale: remove it."""
    written = {command.bare for block in SHELL_BLOCKS for command in block.commands}
    assert set(SKIPPED) - written == set()
    assert set(ELSEWHERE) - written == set()
    everything = "\n".join(block.text for block in SHELL_BLOCKS)
    assert [text for text in PLACEHOLDERS if text not in everything] == []


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda block: block.id)
def test_shell_examples_work_on_the_demo(
    block: Block, readme_demo: Path, placeholders: dict[str, str], tmp_path: Path
) -> None:
    for command in block.commands:
        if command.bare in SKIPPED:
            continue
        text = command.bare
        for placeholder, value in placeholders.items():
            text = text.replace(placeholder, value)
        where = readme_demo
        if command.bare in ELSEWHERE:
            where = tmp_path / "elsewhere"
            where.mkdir(exist_ok=True)
        text = _without_missing_tools(text)
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", text],
            cwd=where,
            env=_environment(),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        said = f"{block.document}:{command.line}: `{text}` in {where}\n{done.stdout[-2000:]}\n{done.stderr}"
        assert done.returncode == 0, said
        assert "Traceback" not in done.stdout + done.stderr, said


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda block: block.id)
def test_python_examples_run_in_the_demo(block: Block, readme_demo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", block.text],
        cwd=readme_demo,
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, f"{block.document}:{block.line}:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
