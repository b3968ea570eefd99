"""The archive's per-day facts (what 分析 reads) always equal an aggregation of the archived
rows: after copies in any order, a copy repeated, lines copied before their orders, and in an
archive made before the facts existed (built when it is opened)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sheets_schema.archive import (
    LINE_FACT_COLUMNS,
    LINE_FACTS,
    MONTH_FACTS,
    NAME_FACTS,
    ORDER_FACT_COLUMNS,
    ORDER_FACTS,
    Archive,
)
from sheets_schema.tabs import ORDER_LINES, ORDERS
from tests.test_analytics import make_tables

# The aggregations the facts stand for, written straight against the archived rows.
EXPECTED = {
    ORDER_FACTS: """
        SELECT substr("注文日時", 1, 10), CAST(substr("注文日時", 12, 2) AS INTEGER), "モール",
               CASE WHEN "ステータス" = 'キャンセル' THEN 1 ELSE 0 END,
               count(*), coalesce(sum("合計金額"), 0), coalesce(sum("送料"), 0)
        FROM orders GROUP BY 1, 2, 3, 4""",
    LINE_FACTS: """
        SELECT substr(o."注文日時", 1, 10), o."モール", l."SKU",
               CASE WHEN o."ステータス" = 'キャンセル' THEN 1 ELSE 0 END,
               CASE WHEN o."在庫引当" = 'ON' THEN 1 ELSE 0 END,
               coalesce(sum(l."数量"), 0), coalesce(sum(l."数量" * l."単価"), 0)
        FROM order_lines l JOIN orders o ON o."モール" = l."モール" AND o."注文番号" = l."注文番号"
        WHERE l."SKU" != '' GROUP BY 1, 2, 3, 4, 5""",
    NAME_FACTS: """
        SELECT substr(o."注文日時", 1, 10), l."SKU", l."商品名", max(o."注文日時")
        FROM order_lines l JOIN orders o ON o."モール" = l."モール" AND o."注文番号" = l."注文番号"
        WHERE l."SKU" != '' GROUP BY 1, 2, 3""",
    MONTH_FACTS: """
        SELECT substr(o."注文日時", 1, 7), o."モール", l."SKU",
               CASE WHEN o."ステータス" = 'キャンセル' THEN 1 ELSE 0 END,
               CASE WHEN o."在庫引当" = 'ON' THEN 1 ELSE 0 END,
               coalesce(sum(l."数量"), 0), coalesce(sum(l."数量" * l."単価"), 0)
        FROM order_lines l JOIN orders o ON o."モール" = l."モール" AND o."注文番号" = l."注文番号"
        WHERE l."SKU" != '' GROUP BY 1, 2, 3, 4, 5""",
}


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute(sql).fetchall())


def _assert_facts_exact(path: Path) -> None:
    for table, expected in EXPECTED.items():
        assert _rows(path, f"SELECT * FROM {table}") == _rows(path, expected), table


def _shop() -> tuple[list[Any], list[Any]]:
    tables = make_tables()
    return tables[ORDERS.title].models(), tables[ORDER_LINES.title].models()


def test_facts_equal_the_aggregation_after_every_copy_in_any_order_and_a_repeated_one(tmp_path: Path) -> None:
    path = tmp_path / "archive.sqlite3"
    archive = Archive(f"sqlite:///{path}")
    orders, lines = _shop()
    first, second = {"R1", "R3", "A1"}, {"A3", "R4", "S1", "Y1"}
    steps = [
        (ORDERS, [o for o in orders if o.order_number in first]),
        (ORDER_LINES, [ln for ln in lines if ln.order_number in first]),
        # Lines before their orders: counted once the orders arrive.
        (ORDER_LINES, [ln for ln in lines if ln.order_number in second]),
        (ORDERS, [o for o in orders if o.order_number in second]),
        # A pass run again: nothing changes.
        (ORDERS, [o for o in orders if o.order_number in first | second]),
        (ORDER_LINES, lines),
        (ORDERS, orders),
    ]
    for spec, rows in steps:
        archive.copy(spec, rows)
        _assert_facts_exact(path)
    assert _rows(path, f"SELECT sum(件数) FROM {ORDER_FACTS}") == [(len(orders),)]
    before = {t: _rows(path, f"SELECT * FROM {t}") for t in EXPECTED}
    archive.copy(ORDERS, orders)
    archive.copy(ORDER_LINES, lines)
    assert {t: _rows(path, f"SELECT * FROM {t}") for t in EXPECTED} == before


def test_the_readers_answer_from_the_facts_as_from_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "archive.sqlite3"
    archive = Archive(f"sqlite:///{path}")
    orders, lines = _shop()
    archive.copy(ORDERS, orders)
    archive.copy(ORDER_LINES, lines)
    assert tuple(c.name for c in archive.facts[ORDER_FACTS].columns) == ORDER_FACT_COLUMNS
    assert tuple(c.name for c in archive.facts[LINE_FACTS].columns) == LINE_FACT_COLUMNS
    facts = [
        dict(zip(ORDER_FACT_COLUMNS, f, strict=True)) for f in archive.order_facts("2026-01-05", "2026-01-31")
    ]
    counted = "SELECT count(*) FROM orders WHERE 注文日時 >= '2026-01-05' AND 注文日時 < '2026-01-31'"
    assert [(sum(f["件数"] for f in facts),)] == _rows(path, counted) == [(6,)]
    assert {f["日"] for f in facts} == {"2026-01-05", "2026-01-06", "2026-01-11", "2026-01-12", "2026-01-30"}
    line_facts = [
        dict(zip(LINE_FACT_COLUMNS, f, strict=True)) for f in archive.line_facts("2026-01-01", "2026-03-01")
    ]
    assert sum(f["数量"] for f in line_facts) == sum(ln.quantity for ln in lines if ln.sku)
    assert archive.malls() == sorted({o.mall for o in orders})
    assert archive.order_span() == ("2026-01-05 10:15:00", "2026-02-01 12:00:00")
    names = archive.line_names(["TOTE", "00123", "NONE"], "2026-01-01", "2026-03-01")
    assert set(names) == {"TOTE", "00123"}


def test_an_archive_made_before_the_facts_gets_them_once_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "archive.sqlite3"
    archive = Archive(f"sqlite:///{path}")
    orders, lines = _shop()
    archive.copy(ORDERS, orders)
    archive.copy(ORDER_LINES, lines)
    archive.engine.dispose()
    with sqlite3.connect(path) as db:
        for table in EXPECTED:
            db.execute(f"DROP TABLE {table}")
    reopened = Archive(f"sqlite:///{path}")
    _assert_facts_exact(path)
    assert sum(f[4] for f in reopened.order_facts("2000-01-01", "2100-01-01")) == len(orders)
    reopened.engine.dispose()
    # An archive with the day facts only (made before the month facts) gets those from them.
    with sqlite3.connect(path) as db:
        db.execute(f"DROP TABLE {MONTH_FACTS}")
        db.execute(f"DELETE FROM {ORDER_FACTS}")  # not rebuilt: only the month facts are made
    Archive(f"sqlite:///{path}").engine.dispose()
    assert _rows(path, f"SELECT * FROM {MONTH_FACTS}") == _rows(path, EXPECTED[MONTH_FACTS])
    assert _rows(path, f"SELECT count(*) FROM {ORDER_FACTS}") == [(0,)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sums_over_spans_are_the_facts_summed_by_the_database(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """What 分析 asks for a long period: the facts of the days of a span summed per key by the
    database, one row per key (dated at the span's first day), on SQLite and PostgreSQL alike."""
    url = (
        f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    archive = Archive(url)
    orders, lines = _shop()
    archive.copy(ORDERS, orders)
    archive.copy(ORDER_LINES, lines)
    spans = [
        ("2026-01-01", "2026-01-12"),  # days
        ("2026-01-12", "2026-03-01"),  # days, then a whole month
        ("2026-03-01", "2026-04-01"),  # a whole month without a line
        ("2025-12-15", "2026-02-02"),  # days, a whole month, a day
    ]
    summed = archive.line_sums(spans)
    for since, until in spans:
        expected: dict[tuple[Any, ...], list[int]] = {}
        for fact in archive.line_facts(since, until):
            sums = expected.setdefault(tuple(fact[1:5]), [0, 0])
            sums[0] += fact[5]
            sums[1] += fact[6]
        got = {tuple(r[1:5]): [r[5], r[6]] for r in summed if r[0] == since}
        assert got == expected and len([r for r in summed if r[0] == since]) == len(expected)
    assert {r[0] for r in summed} == {"2026-01-01", "2026-01-12", "2025-12-15"}  # nothing in March
    # Read through the driver's cursor: its own types, which must be these on both servers.
    assert {tuple(type(v) for v in r) for r in summed} == {(str, str, str, int, int, int, int)}
    assert sum(r[5] for r in summed if r[0] != "2025-12-15") == sum(ln.quantity for ln in lines if ln.sku)

    by_key: dict[tuple[Any, ...], list[int]] = {}
    for fact in archive.order_facts("2026-01-05", "2026-01-31"):
        sums = by_key.setdefault((fact[2], fact[3]), [0, 0, 0])
        for i in range(3):
            sums[i] += fact[4 + i]
    rows = archive.order_sums("2026-01-05", "2026-01-31")
    assert {(r[2], r[3]): list(r[4:]) for r in rows} == by_key and len(rows) == len(by_key)
    assert {(r[0], r[1]) for r in rows} == {("2026-01-05", 0)}
    assert tuple(type(v) for v in rows[0]) == (str, int, str, int, int, int, int)
    archive.engine.dispose()


def test_two_processes_opening_an_archive_without_month_facts_build_them_once(pg_url: str) -> None:
    """After an upgrade the app and sync watch open the archive at once: on PostgreSQL one
    builds the missing month facts, the other waits and finds them."""
    archive = Archive(pg_url)
    orders, lines = _shop()
    archive.copy(ORDERS, orders)
    archive.copy(ORDER_LINES, lines)
    expected = sorted(tuple(r) for r in archive.line_sums([("2026-01-01", "2026-03-01")]))
    with archive.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {MONTH_FACTS}"))
    archive.engine.dispose()
    ready = threading.Barrier(3)
    opened: list[Archive] = []
    failed: list[BaseException] = []

    def open_it() -> None:
        ready.wait()
        try:
            opened.append(Archive(pg_url))
        except BaseException as exc:  # reported below
            failed.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [] and len(opened) == 3
    for reopened in opened:
        assert sorted(tuple(r) for r in reopened.line_sums([("2026-01-01", "2026-03-01")])) == expected
        reopened.engine.dispose()
