"""Dependencies point one way: mall connectors know Ichigen's vocabulary and canonical models,
never the workbook layer; the vocabulary knows nothing of either."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONNECTORS = sorted(p.stem for p in (ROOT / "sync" / "connectors").glob("*.py") if p.stem != "__init__")


def _loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return {name.split(".")[0] for name in done.stdout.split()}


@pytest.mark.parametrize("name", CONNECTORS)
def test_a_connector_loads_without_the_workbook_layer(name: str) -> None:
    assert len(CONNECTORS) >= 7
    loaded = _loaded_after_import(f"sync.connectors.{name}")
    assert "sync" in loaded and "vocabulary" in loaded
    assert "sheets_schema" not in loaded


def test_the_vocabulary_imports_nothing_of_the_project() -> None:
    modules = [f"vocabulary.{p.stem}" for p in (ROOT / "vocabulary").glob("*.py") if p.stem != "__init__"]
    loaded = _loaded_after_import(", ".join(modules))
    assert not loaded & {"sheets_schema", "sync", "shop", "shipping", "ui", "pages", "settings"}


# A page reads like a description of its UI; past ~250 lines it holds logic that belongs in
# shop/, shipping/ (pure) or ui/ (Streamlit helpers).
PAGE_LINE_LIMIT = 250
PAGES_PENDING_SPLIT: set[str] = set()  # every page is within the limit


def test_no_page_is_over_the_line_limit() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / "pages").glob("*.py")}
    assert sizes, "no pages found"
    over = {name: n for name, n in sizes.items() if n > PAGE_LINE_LIMIT and name not in PAGES_PENDING_SPLIT}
    assert not over, f"pages over {PAGE_LINE_LIMIT} lines: {over}"
    assert set(sizes) >= PAGES_PENDING_SPLIT, "an exempted page no longer exists: drop it from the set"


@pytest.mark.parametrize("package", ["shop", "shipping"])
def test_screen_logic_packages_do_not_import_streamlit(package: str) -> None:
    """shop/ and shipping/ (subpackages included) stay testable without Streamlit; Streamlit
    helpers live in ui/."""
    importing = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / package).rglob("*.py")
        if any(
            line.startswith(("import streamlit", "from streamlit"))
            for line in p.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert not importing, f"{package}/ modules importing streamlit: {importing}"


# shop/ and shipping/ hold logic in modules small enough to hold in one's head: one concern a
# module (shop/orders/ is the example). Aim well under 300 lines; past 400, split by concern.
MODULE_LINE_LIMIT = 400
MODULES_PENDING_SPLIT: set[str] = set()  # older modules still to split: none left


def test_no_screen_logic_module_is_over_the_line_limit() -> None:
    sizes = {
        p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for package in ("shop", "shipping")
        for p in (ROOT / package).rglob("*.py")
    }
    over = {
        name: n for name, n in sizes.items() if n > MODULE_LINE_LIMIT and name not in MODULES_PENDING_SPLIT
    }
    assert not over, f"modules over {MODULE_LINE_LIMIT} lines (split by concern): {over}"
    assert set(sizes) >= MODULES_PENDING_SPLIT, "an exempted module no longer exists: drop it from the set"


def _project_imports(path: Path) -> set[str]:
    """The project modules a file imports (absolute imports of top-level project packages)."""
    project = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {"settings"}
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in project}


# File layouts are data: they may name the shared vocabulary and their own schema, never the
# code that writes or reads the files (so a layout change is a data edit, reviewable alone).
LAYOUT_MODULES = {
    "shipping/carrier_layouts/*.py": ("shipping.carrier_layouts",),
    "sync/connectors/csv_layouts.py": ("vocabulary",),
}


@pytest.mark.parametrize("pattern", sorted(LAYOUT_MODULES))
def test_file_layouts_import_only_their_schema_and_the_vocabulary(pattern: str) -> None:
    files = sorted(ROOT.glob(pattern))
    assert files, f"no files match {pattern}"
    allowed = LAYOUT_MODULES[pattern]
    stray = {
        f.relative_to(ROOT).as_posix(): sorted(m for m in _project_imports(f) if not m.startswith(allowed))
        for f in files
    }
    assert not {name: mods for name, mods in stray.items() if mods}, stray
