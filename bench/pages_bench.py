"""Pages benchmark: every page's first render and a rerun, on a shop with years of history.

    python bench/pages_bench.py --workbook /tmp/scale/wb-1100000.sqlite3
    python bench/pages_bench.py --orders 1100000 [--workdir DIR]   # builds it first (minutes)

The workbook and its archive (``<stem>-archive.sqlite3`` beside it) are what
``bench/scale_bench.py build`` makes: the last weeks' orders in the workbook, closed orders
older than 30 days in the archive. Timed through Streamlit's AppTest, in this process:

- cold start: the app's very first run (the workbook read, what ホーム needs parsed), and
  when everything but 在庫金額 was on screen (ホーム draws that figure last when it is not built
  yet);
- ホーム after a new read: a rerun once the snapshot's cache_ttl_seconds ran out, as after a
  sync cycle wrote (the tabs read and parsed again, 在庫金額 rebuilt): when everything but
  在庫金額 was drawn, and the whole run;
- first render: a page's first run in a new session once the server holds the shared
  snapshot (what staff see when they open a page);
- rerun: the same page after a filter change (a mall, or a search that must find the oldest
  archived order: a two-year-old order number is found, or the bench fails).

Targets: cold start ≤ 3 s, first render ≤ 2 s, rerun ≤ 0.5 s. A page that raises, or a search
that does not find its order, stops the bench with exit code 1 and no table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(ROOT / "app.py")


class BenchFailed(Exception):
    """The bench did not do its work: no figure is printed."""


def archive_of(workbook: Path) -> Path:
    return workbook.with_name(f"{workbook.stem}-archive.sqlite3")


def app(workbook: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    at.secrets["workbook"] = {
        "sql_url": f"sqlite:///{workbook}",
        "archive_url": f"sqlite:///{archive_of(workbook)}",
    }
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["app"] = {"cache_ttl_seconds": 3600}
    return at


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def checked(at: AppTest, what: str) -> None:
    if at.exception:
        raise BenchFailed(f"{what}: {at.exception[0].message}")


def _mall_filter(at: AppTest) -> None:
    """Narrow the first multiselect that offers malls to one mall."""
    for widget in at.multiselect:
        if "楽天" in widget.options:
            widget.set_value(["楽天"])
            return
    raise BenchFailed("no mall filter on this page")


def _search_oldest(oldest: str) -> Callable[[AppTest], None]:
    def change(at: AppTest) -> None:
        at.text_input(key="orders_search").set_value(oldest)

    return change


def _found(oldest: str) -> Callable[[AppTest], None]:
    def check(at: AppTest) -> None:
        shown = " ".join(str(frame.value.to_csv()) for frame in at.dataframe)
        if oldest not in shown:
            raise BenchFailed(f"受注ボード: searching {oldest} (archived) did not show it")

    return check


def _open_customers(at: AppTest) -> None:
    from ui.analytics_customers import OPEN_KEY

    at.session_state[OPEN_KEY] = True  # the lazy 顧客 section, computed when opened


def _customers_shown(at: AppTest) -> None:
    if "リピート率" not in {m.label for m in at.metric}:
        raise BenchFailed("分析: 顧客を開いてもリピート率が表示されません")


def oldest_archived_order(workbook: Path) -> str:
    path = archive_of(workbook)
    if not path.exists():
        raise BenchFailed(f"no archive beside the workbook: {path}")
    with sqlite3.connect(path) as db:
        found = db.execute('SELECT "注文番号" FROM orders ORDER BY "注文日時" LIMIT 1').fetchone()
    if found is None:
        raise BenchFailed("the archive holds no order")
    return str(found[0])


def build(orders: int, workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"wb-{orders}.sqlite3"
    if not path.exists():
        command = [
            sys.executable,
            str(ROOT / "bench" / "scale_bench.py"),
            "build",
            str(path),
            "--orders",
            str(orders),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            path.unlink(missing_ok=True)
            raise BenchFailed(f"build failed: {done.stderr.strip()[-500:]}")
        print(done.stdout.strip().splitlines()[-1])
    return path


def run(workbook: Path) -> list[dict[str, object]]:
    oldest = oldest_archived_order(workbook)
    changes: list[tuple[str, str, Callable[[AppTest], None], Callable[[AppTest], None]]] = [
        ("ホーム", "pages/home.py", lambda at: at.toggle[0].set_value(False), lambda at: None),
        ("受注ボード", "pages/orders.py", _mall_filter, lambda at: None),
        ("受注ボード（履歴の注文を検索）", "pages/orders.py", _search_oldest(oldest), _found(oldest)),
        ("出荷", "pages/shipping.py", lambda at: None, lambda at: None),
        ("商品・在庫", "pages/products.py", lambda at: None, lambda at: None),
        ("発注・入荷", "pages/purchasing.py", lambda at: None, lambda at: None),
        ("商品登録", "pages/listings.py", lambda at: None, lambda at: None),
        ("同期", "pages/sync.py", lambda at: None, lambda at: None),
        ("分析", "pages/analytics.py", _mall_filter, lambda at: None),
        ("分析（顧客を開く）", "pages/analytics.py", _open_customers, _customers_shown),
    ]
    cold_app = app(workbook)
    with _stock_value_marked() as marks:
        started = time.perf_counter()
        cold_app.run()
        total = time.perf_counter() - started
    checked(cold_app, "cold start")
    rows: list[dict[str, object]] = [
        {"page": "cold start", "first": total},
        {"page": "cold start（在庫金額のほかを描画）", "first": marks[0] - started},
    ]
    for title, page, change, check in changes:
        at = app(workbook)
        at.run()
        at.switch_page(page)
        first = timed(at.run)
        checked(at, title)
        change(at)
        rerun = timed(at.run)
        checked(at, title)
        check(at)
        rows.append({"page": title, "first": first, "rerun": rerun})
    rows.append(_new_read(workbook))
    return rows


@contextlib.contextmanager
def _stock_value_marked() -> Iterator[list[float]]:
    """When ホーム starts drawing 在庫金額, its last figure (everything else is on screen)."""
    from ui import stock_value_card

    marks: list[float] = []
    draw = stock_value_card.show_stock_value

    def marked(figure: object, note: object) -> None:
        marks.append(time.perf_counter())
        draw(figure, note)

    stock_value_card.show_stock_value = marked
    try:
        yield marks
    finally:
        stock_value_card.show_stock_value = draw
    if not marks:
        raise BenchFailed("ホーム never drew 在庫金額")


def _new_read(workbook: Path) -> dict[str, object]:
    """ホーム rerun once the snapshot's cache_ttl_seconds ran out (here: cleared), as after a
    sync cycle changed the workbook: read and parsed again, its views and 在庫金額 rebuilt."""
    from ui import context

    at = app(workbook)
    at.run()
    checked(at, "ホーム")
    for reader in context._readers.values():
        reader.clear()  # type: ignore[attr-defined]
    with _stock_value_marked() as marks:
        started = time.perf_counter()
        at.run()
        total = time.perf_counter() - started
    checked(at, "ホーム（新しい読み込み）")
    return {
        "page": "ホーム（新しい読み込み、在庫金額のほか / 全部）",
        "first": marks[0] - started,
        "rerun": total,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workbook", type=Path, help="a workbook built by bench/scale_bench.py build")
    parser.add_argument("--orders", type=int, default=1_100_000, help="build this size when no --workbook")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ichigen-scale"))
    args = parser.parse_args()
    try:
        workbook = args.workbook or build(args.orders, args.workdir)
        rows = run(workbook)
    except BenchFailed as failure:
        print(f"bench failed, no figures: {failure}", file=sys.stderr)
        return 1
    hot = (
        sqlite3.connect(workbook)
        .execute(
            "SELECT count(*) FROM ichigen_rows r JOIN ichigen_tabs t ON t.id = r.tab_id WHERE t.title = '受注'"
        )
        .fetchone()[0]
    )
    archived = sqlite3.connect(archive_of(workbook)).execute("SELECT count(*) FROM orders").fetchone()[0]
    print(f"workbook: {hot:,} orders hot, {archived:,} archived\n")
    print("page | first render | rerun after a change")
    print("---|---|---")
    for row in rows:
        rerun = f"{row['rerun']:.2f} s" if "rerun" in row else "–"
        print(f"{row['page']} | {row['first']:.2f} s | {rerun}")
    print(json.dumps(rows, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
