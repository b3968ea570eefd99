"""Pages benchmark: with 50,000 orders and 5,000 SKUs in the workbook, each page's first render
and a rerun after a filter change, timed through Streamlit's AppTest.

    python bench/pages_bench.py [--workbook /tmp/big/wb.sqlite3]

"cold" is the very first run of the app process: the workbook is read and the tabs the page
needs are parsed. "first render" is a page's first run in a new session once the server holds
the shared snapshot (what staff see when they open a page). Targets: first render ≤ 2 s,
rerun ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.big_workbook import build  # noqa: E402

APP = str(ROOT / "app.py")


def app(sql_url: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["app"] = {"cache_ttl_seconds": 3600}
    return at


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _mall_filter(at: AppTest) -> None:
    """Narrow the first multiselect that offers malls to one mall."""
    for widget in at.multiselect:
        if "楽天" in widget.options:
            widget.set_value(["楽天"])
            return
    raise LookupError("no mall filter on this page")


FILTERS: dict[str, Callable[[AppTest], None]] = {
    "pages/home.py": lambda at: at.toggle[0].set_value(False),
    "pages/orders.py": _mall_filter,
    "pages/products.py": lambda at: at.tabs,  # the grids have no filter: a plain rerun
    "pages/sync.py": lambda at: at,  # idem
    "pages/analytics.py": _mall_filter,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workbook", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.workbook or build(Path(folder) / "wb.sqlite3")
        sql_url = f"sqlite:///{path}"
        cold_app = app(sql_url)
        cold = timed(cold_app.run)
        print(f"cold start of the app (read the workbook, parse what ホーム needs): {cold:.2f} s\n")
        print("page | first render | rerun after a filter change")
        print("---|---|---")
        for page, change in FILTERS.items():
            at = app(sql_url)
            at.run()
            at.switch_page(page)
            first = timed(at.run)
            if at.exception:
                print(f"{page} | error: {at.exception[0].message}")
                continue
            change(at)
            rerun = timed(at.run)
            print(f"{page} | {first:.2f} s | {rerun:.2f} s")


if __name__ == "__main__":
    main()
