"""Reading and checking a policy file. Every mistake is reported with its location."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .schema import Policy

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.toml")


@dataclass(frozen=True)
class Problem:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class PolicyInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse(text: str) -> Policy:
    """Validate policy text; raise PolicyInvalid listing every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyInvalid([Problem("", f"not valid TOML: {exc}")]) from None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyInvalid([_problem(e) for e in exc.errors()]) from None
    cross = policy.problems()
    if cross:
        raise PolicyInvalid([Problem(loc, msg) for loc, msg in cross])
    return policy


def load_file(path: Path) -> tuple[str, Policy]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyInvalid([Problem("", f"cannot read {path}: {exc.strerror}")]) from None
    return text, parse(text)


def _problem(error: Any) -> Problem:
    location = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown setting"
    elif kind == "missing":
        message = "required setting is missing"
    else:
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if "input" in error and kind not in ("duration",) and not isinstance(error["input"], dict):
            message = f"{message}, got {error['input']!r}"
    return Problem(location, message)
