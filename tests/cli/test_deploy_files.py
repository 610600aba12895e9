"""The Containerfile, compose.yaml and docs/operations.md name only what exists: every
INCIDENTDESK_* variable is one the product reads, every `incidentdesk` command line is one the
real command accepts (checked against its --help in a subprocess), every file copied is in the
repository, and web and workers share the data directory the image declares."""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path

import yaml

from incidentdesk.cli import COMMANDS

from .helpers import run

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"\bINCIDENTDESK_[A-Z_]+[A-Z]\b")


def _containerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Containerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _documented_command_lines() -> list[list[str]]:
    """`incidentdesk ...` lines of docs/operations.md's code blocks and systemd units."""
    doc = (ROOT / "docs" / "operations.md").read_text()
    lines = []
    for block in re.findall(r"```(?:sh|ini)\n(.*?)```", doc, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].removeprefix("ExecStartPre=").removeprefix("ExecStart=")
            match = re.search(r"(?:^|[\s/])incidentdesk (\S.*)$", line)
            if match:
                lines.append(["incidentdesk", *shlex.split(match.group(1))])
    return lines


def _command_lines() -> list[list[str]]:
    compose = _compose()["services"]
    found = [service["command"] for service in compose.values() if "command" in service]
    found += [json.loads(args) for name, args in _containerfile() if name == "CMD"]
    return found + _documented_command_lines()


@cache
def _help(tmp: Path, words: tuple[str, ...]) -> str:
    """The help of the command (and subcommand) the leading words name."""
    return run(tmp, *words, "--help").stdout


def test_every_command_line_is_one_the_cli_accepts(tmp_path: Path) -> None:
    lines = _command_lines()
    assert any(line[:2] == ["incidentdesk", "worker"] for line in lines)
    assert any("--no-worker" in line for line in lines)
    for line in lines:
        assert line[0] == "incidentdesk", line
        command = line[1]
        assert command in COMMANDS, line
        words = []
        for word in line[1:]:
            if word.startswith("-"):
                break
            words.append(word)
        usage = _help(tmp_path, tuple(words))
        for option in (a.split("=", 1)[0] for a in line[2:] if a.startswith("--")):
            assert re.search(rf"(?<![\w-]){re.escape(option)}\b", usage), (option, line)


def test_every_variable_named_is_one_the_product_reads() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.py"))
    named = set()
    for path in ("Containerfile", "compose.yaml", "docs/operations.md"):
        named |= set(VARIABLE.findall((ROOT / path).read_text()))
    assert {"INCIDENTDESK_DATABASE_URL", "INCIDENTDESK_DATA_DIR"} <= named
    unread = sorted(name for name in named if f'"{name}"' not in source)
    assert not unread, f"named but never read by the product: {unread}"


def test_containerfile_copies_what_exists_and_compose_shares_its_data_dir() -> None:
    instructions = _containerfile()
    for name, args in instructions:
        if name == "COPY":
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source
    env = " ".join(args for name, args in instructions if name == "ENV")
    data_dir = re.search(r"INCIDENTDESK_DATA_DIR=(\S+)", env)
    assert data_dir is not None
    assert ("VOLUME", data_dir.group(1)) in instructions
    services = _compose()["services"]
    assert {"db", "init", "web", "worker"} <= set(services)
    for name in ("init", "web", "worker"):
        service = services[name]
        assert service["build"]["dockerfile"] == "Containerfile"
        assert f"data:{data_dir.group(1)}" in service["volumes"], name
        assert service["environment"]["INCIDENTDESK_DATA_DIR"] == data_dir.group(1)
        assert service["environment"]["INCIDENTDESK_DATABASE_URL"].startswith("postgresql://")
    assert services["web"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
