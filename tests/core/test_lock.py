"""The lock files pin what pyproject.toml pins, with hashes for everything they install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(path: Path) -> dict[str, str]:
    """name -> version for every requirement in a lock file, each checked to carry a hash."""
    pins: dict[str, str] = {}
    blocks = re.split(r"\n(?=\S)", path.read_text())
    for block in blocks:
        match = PIN.match(block)
        if not match:
            continue
        assert "--hash=sha256:" in block, f"{path.name}: {match.group(1)} has no hash"
        pins[_norm(match.group(1))] = match.group(2)
    return pins


def _wanted(requirements: list[str]) -> dict[str, str]:
    wanted = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"pyproject.toml pins exactly: {requirement!r} is not name==version"
        wanted[_norm(match.group(1))] = match.group(2)
    return wanted


def test_lock_files_match_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    run = _wanted(project["dependencies"])
    test = run | _wanted([r for reqs in extras.values() for r in reqs])
    for lock, wanted in (("run.txt", run), ("test.txt", test)):
        locked = _locked(ROOT / "requirements" / lock)
        stale = {
            name: (version, locked.get(name))
            for name, version in wanted.items()
            if locked.get(name) != version
        }
        assert not stale, f"requirements/{lock} is stale, run `make lock`: {stale}"


def test_an_instance_without_postgres_or_apprise_locks_neither() -> None:
    locked = _locked(ROOT / "requirements" / "run.txt")
    assert "psycopg" not in locked
    assert "apprise" not in locked
