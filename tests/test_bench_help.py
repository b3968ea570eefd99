"""Every bench script and command line answers --help (a bench whose help text cannot be
formatted fails before doing any work: propagation_bench's did, over a bare "%")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from settings import PROJECT_ROOT

SCRIPTS = sorted(
    p for p in (PROJECT_ROOT / "bench").glob("*.py") if "argparse" in p.read_text(encoding="utf-8")
)


def test_every_bench_with_options_is_found() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"scale_bench.py", "pages_bench.py", "propagation_bench.py", "runners_soak.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bench_help(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


@pytest.mark.parametrize("module", ["sync", "sheets_schema"])
def test_command_line_help_is_japanese(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"使い方: python -m {module}") and "usage" not in done.stdout.lower()
