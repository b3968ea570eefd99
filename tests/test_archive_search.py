"""Searching the archive: a whole order number goes through the number index; anything else
walks the search index newest first and reads only the orders it returns."""

from __future__ import annotations

from pathlib import Path

from tests.test_archive_views import _archive_with, _archived_order


def _numbers(rows: list[dict]) -> list[str]:
    return [r["注文番号"] for r in rows]


def test_a_whole_order_number_finds_that_order_and_a_part_finds_every_order_containing_it(
    tmp_path: Path,
) -> None:
    archive = _archive_with(
        tmp_path,
        _archived_order("R100", 30, 1000),
        _archived_order("R1001", 20, 2000, buyer_name="山田 R100"),
        _archived_order("X9", 10, 3000, buyer_name="佐藤　一郎"),
    )
    assert _numbers(archive.search_orders(["R100"], 50)) == ["R100"]  # the number index alone
    assert _numbers(archive.search_orders(["r100"], 50)) == ["R100"]  # typed in lower case
    assert _numbers(archive.search_orders(["R10"], 50)) == ["R1001", "R100"]  # contained: newest first
    assert _numbers(archive.search_orders(["R100", "山田"], 50)) == ["R1001"]  # every word must match
    assert _numbers(archive.search_orders(["佐藤一郎"], 50)) == ["X9"]  # name without its full-width space
    assert _numbers(archive.search_orders(["佐藤\u3000一郎"], 50)) == ["X9"]  # or with it
    assert _numbers(archive.search_orders(["archived-sku"], 2)) == ["X9", "R1001"]  # SKU prefix, limit
    assert _numbers(archive.search_orders(["50%"], 50)) == []  # LIKE's wildcards are plain characters
    row = archive.search_orders(["X9"], 50)[0]
    assert row["購入者名"] == "佐藤　一郎" and row["合計金額"] == 3000  # the whole order
