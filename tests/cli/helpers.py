"""Running the real `incidentdesk` console script in a subprocess, on its own SQLite data dir.

The test database of a PostgreSQL run is not one a subprocess can share, so the command always
runs on a fresh SQLite data dir; these tests run once, in the SQLite run of the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

INCIDENTDESK = Path(sys.executable).with_name("incidentdesk")

sqlite_only = pytest.mark.skipif(
    "sqlite" not in settings.DATABASES["default"]["ENGINE"],
    reason="runs the real command on its own SQLite data dir: once, in the SQLite run",
)


def env_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTDESK_")}
    env["INCIDENTDESK_DATA_DIR"] = str(data_dir)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def run(data_dir: Path, *args: str, check: bool = True, timeout: float = 120):
    """`incidentdesk ARGS` with INCIDENTDESK_DATA_DIR=data_dir; returns the CompletedProcess."""
    done = subprocess.run(
        [str(INCIDENTDESK), *args],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"incidentdesk {' '.join(args)} exited {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done


def shell(data_dir: Path, code: str) -> str:
    """Run Python inside the command's Django (`incidentdesk manage shell -c`)."""
    return run(data_dir, "manage", "shell", "--no-imports", "-c", code).stdout


@pytest.fixture(scope="session")
def initialised_template(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("incidentdesk-template")
    run(data_dir, "init")
    return data_dir


def fresh_copy(template: Path, target: Path) -> Path:
    """A data dir set up by `incidentdesk init`, without running it again."""
    shutil.copytree(template, target)
    return target
