"""README's module map names every module of the product, and only those (a module added or
removed without its line fails here). Regenerate the lines from the modules' docstrings with
``python -m tests.test_module_map`` and paste them between the map's markers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from settings import PROJECT_ROOT

ROOTS = (
    "app.py",
    "settings.py",
    "pages",
    "ui",
    "shop",
    "shipping",
    "purchasing",
    "sync",
    "sheets_schema",
    "vocabulary",
)
START, END = "<!-- module map: start -->", "<!-- module map: end -->"


def modules() -> list[Path]:
    found: list[Path] = []
    for root in ROOTS:
        path = PROJECT_ROOT / root
        found += (
            [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if p.name != "__init__.py")
        )
    return [p.relative_to(PROJECT_ROOT) for p in found]


def summary(path: Path) -> str:
    """The docstring's first sentence, on one line."""
    doc = ast.get_docstring(ast.parse((PROJECT_ROOT / path).read_text(encoding="utf-8"))) or ""
    text = " ".join(doc.split("\n\n")[0].split())
    first = re.split(r"(?<=[.。])\s", text, maxsplit=1)[0]
    return first if len(first) <= 200 else first[:199] + "…"


def lines() -> list[str]:
    return [f"- `{p.as_posix()}`: {summary(p)}" for p in modules()]


def test_every_module_has_a_docstring_to_describe_it() -> None:
    assert [p for p in modules() if not summary(p)] == []


def test_the_readme_map_lists_exactly_the_modules_there_are() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(START, 1)[1].split(END, 1)[0]
    listed = re.findall(r"^- `([^`]+)`: \S", section, flags=re.MULTILINE)
    assert sorted(listed) == sorted(p.as_posix() for p in modules())


if __name__ == "__main__":
    print("\n".join(lines()))
