"""The pictures in docs/: every one the documentation shows is there at a desk's width and a
phone's (NAME.png and NAME-375.png, both taken by `make screenshots`), and every file in
docs/screenshots is one the documentation shows (no stale picture outlives its page)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
SHOTS = DOCS / "screenshots"
# Markdown images and links, and HTML src attributes, that point into screenshots/
REFERENCE = re.compile(r"""(?:\]\(|src=["'])(?:\./)?screenshots/([^)"'\s#?]+)""")
PHONE = "-375"


def referenced() -> dict[str, set[str]]:
    """file name -> the docs that reference it."""
    found: dict[str, set[str]] = {}
    for doc in sorted(DOCS.rglob("*.md")):
        for name in REFERENCE.findall(doc.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(doc.relative_to(DOCS)))
    return found


def pair(name: str) -> tuple[str, str]:
    stem = name.removesuffix(".png").removesuffix(PHONE)
    return f"{stem}.png", f"{stem}{PHONE}.png"


def test_the_docs_show_pictures_and_name_them_png():
    names = referenced()
    assert len(names) >= 20
    odd = sorted(n for n in names if not n.endswith(".png"))
    assert not odd, f"pictures in docs/ are PNG files named NAME.png / NAME-375.png: {odd}"


def test_every_picture_in_the_docs_exists_at_both_widths():
    missing = sorted(
        f"{wanted} (for {', '.join(sorted(docs))})"
        for name, docs in referenced().items()
        for wanted in pair(name)
        if not (SHOTS / wanted).is_file()
    )
    assert not missing, "pictures the docs show are not in docs/screenshots: " + "; ".join(missing)


def test_the_docs_show_every_picture_at_both_widths():
    names = referenced()
    one_width = sorted(n for n in names for other in pair(n) if other not in names)
    assert not one_width, (
        "the docs show these only at one width: link the other one too "
        "(NAME.png for 1280 px, NAME-375.png for 375 px): " + ", ".join(one_width)
    )


def test_no_picture_in_docs_screenshots_is_unreferenced():
    names = referenced()
    stale = sorted(p.name for p in SHOTS.iterdir() if p.name not in names)
    assert not stale, (
        "files in docs/screenshots that no page in docs/ shows (remove them, or show them): "
        + ", ".join(stale)
    )
