"""A gentle check for blaming language in a review. It suggests; it never blocks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    section: str
    phrase: str
    suggestion: str


PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"\bhuman errors?\b",
        "Describe what made the action easy to get wrong (tooling, process, information).",
    ),
    (
        r"\bshould(?: not|n't)? have\b|\bshould've\b",
        "Say what happened and what would have helped, rather than what someone should have done.",
    ),
    (r"\bcareless(?:ly|ness)?\b", "Describe the conditions that made the slip likely."),
    (r"\bnegligen(?:t|ce)\b", "Describe the conditions, not a judgement of a person."),
    (r"\b(?:to )?blame[ds]?\b", "Reviews look for causes in systems, not people to blame."),
    (r"\bforgot\b", "Ask what reminder or safeguard was missing."),
    (r"\b(?:his|her|their) (?:fault|mistake)\b", "Name the system condition instead of a person."),
    (r"\bfailed to\b", "Say what happened and why it was hard to do at the time."),
)

_CAUSE_AFTER = r"(?:'s|’s)? (?:fault|mistake|error)|\s+(?:caused|broke|forgot|messed up|failed)"
_CAUSE_BEFORE = r"(?:caused by|because of|fault of|blame on|mistake by|error by)\s+"
NAME_SUGGESTION = (
    "Avoid naming a person as the cause: describe the action and the conditions around it."
)


def check(sections: dict[str, str], names: Iterable[str] = ()) -> list[Finding]:
    """Findings in each section, in order; `names` are people's names to watch for as causes."""
    findings: list[Finding] = []
    people = sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True)
    for section, text in sections.items():
        if not text:
            continue
        for pattern, suggestion in PHRASES:
            for match in re.finditer(pattern, text, re.IGNORECASE):
                findings.append(Finding(section, match.group(0), suggestion))
        for name in people:
            quoted = re.escape(name)
            for pattern in (rf"\b{quoted}(?:{_CAUSE_AFTER})", rf"{_CAUSE_BEFORE}{quoted}\b"):
                for match in re.finditer(pattern, text, re.IGNORECASE):
                    findings.append(Finding(section, match.group(0).strip(), NAME_SUGGESTION))
    return findings
