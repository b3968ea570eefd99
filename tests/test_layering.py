"""Dependencies point one way: mall connectors know Ichigen's vocabulary and canonical models,
never the workbook layer; the vocabulary knows nothing of either."""

from __future__ import annotations

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
