"""No module in src is over 800 lines (STYLE.md): a long module is split by topic, as
comms/password_reset.py and incidents/roles.py were. Migrations are generated and not counted.
The check is also run on a planted long module, so it is known to fail when the rule breaks."""

from __future__ import annotations

from pathlib import Path

import incidentdesk

SRC = Path(incidentdesk.__file__).parent
MAX_LINES = 800


def long_modules(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "migrations" in rel.parts:
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            found.append(f"{rel.as_posix()}: {lines} lines")
    return found


def test_no_module_in_src_is_over_800_lines():
    assert long_modules(SRC) == []


def test_the_size_check_reports_a_long_module_and_not_a_migration(tmp_path):
    (tmp_path / "app" / "migrations").mkdir(parents=True)
    (tmp_path / "app" / "short.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "app" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "app" / "migrations" / "0001_initial.py").write_text("x = 1\n" * 2000)
    assert long_modules(tmp_path) == ["app/long.py: 801 lines"]
