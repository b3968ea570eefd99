"""A person editing 受注 between a 受注ボード rule job's read and its write (受注ルール 「今すぐ
適用」 and 「ルールの変更を元に戻す」), on every adapter: the job writes nothing over the edit or
the moved rows, and a fresh read then applies around what the person left."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import StaleWorkbookError
from shop.orders import rules as board_rules
from tests.shop_fixtures import Shop, open_shop, staff_edit
from tests.test_trust_edits_during_job import _insert_staff_order_at_top

HARNESS_BACKENDS = ("sql", "google", "hybrid")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=JST)
RULE = {
    "順番": "9",
    "ルール名": "Shopifyは保留",
    "有効": "ON",
    "モール": "Shopify",
    "ステータスにする": "保留",
    "保留理由": "点検",
    "タグを付ける": "点検",
}


def _shop_with_rule(harness: Any, tmp_path: Path) -> Shop:
    shop = open_shop(harness.workbook, tmp_path / "malls")
    tables = shop.tables()
    rules = tables["受注ルール"]
    job = WriteJob()
    for record in rules.records:
        job.set(rules, record.row, {"有効": "OFF"})
    job.append(rules, [RULE])
    shop.workbook.write(job)
    return shop


def _orders(shop: Shop) -> dict[tuple[str, str], Any]:
    return {(o.mall, o.order_number): o for o in shop.tables()["受注"].models()}


@pytest.mark.parametrize("edit", ["typed", "inserted"])
def test_applying_rules_stops_at_a_persons_edit_and_a_fresh_read_keeps_it(
    harness: Any, tmp_path: Path, edit: str
) -> None:
    shop = _shop_with_rule(harness, tmp_path)
    read = shop.tables()
    planned = board_rules.apply_now(read, now=NOW)
    assert planned.changed
    target = planned.changed[0]
    before = harness.stored("受注")
    if edit == "typed":  # the person types into 備考, a cell the rule would have rewritten
        staff_edit(shop.workbook, "受注", target, {"備考": "電話で確認済み"})
    else:  # 「上に1行挿入」: every order moves down one row
        _insert_staff_order_at_top(harness)
    during = harness.stored("受注")
    assert during != before
    with pytest.raises(StaleWorkbookError):
        shop.workbook.write(planned.job)
    assert harness.stored("受注") == during  # nothing of the job landed
    assert not shop.tables()["_ルール適用"].models()

    again = board_rules.apply_now(shop.tables(), now=NOW)  # the page's next press reads afresh
    shop.workbook.write(again.job)
    after = _orders(shop)
    if edit == "typed":  # the person's words stay, the rule's reason follows them
        assert after[target].note.startswith("電話で確認済み") and after[target].status == "保留"
    assert set(again.changed) == set(planned.changed)
    assert all(after[k].status == "保留" and "【保留】点検" in after[k].note for k in again.changed)
    if edit == "inserted":
        assert ("電話", "T-0999") in after and after[("電話", "T-0999")].status == "新規"


def test_undo_stops_at_a_persons_edit_between_its_read_and_write(harness: Any, tmp_path: Path) -> None:
    shop = _shop_with_rule(harness, tmp_path)
    applied = board_rules.apply_now(shop.tables(), now=NOW)
    shop.workbook.write(applied.job)
    key = applied.changed[0]
    undo = board_rules.undo(shop.tables(), key, now=NOW)
    staff_edit(shop.workbook, "受注", key, {"備考": "お客様と電話済み"})  # while the undo is on its way
    during = harness.stored("受注")
    with pytest.raises(StaleWorkbookError):
        shop.workbook.write(undo.job)
    assert harness.stored("受注") == during
    assert not [a for a in shop.tables()["_ルール適用"].models() if a.kind == "取消"]
    fresh = board_rules.undo(shop.tables(), key, now=NOW)  # read again: the person's note stays
    shop.workbook.write(fresh.job)
    back = _orders(shop)[key]
    assert back.note == "お客様と電話済み" and back.status != "保留"  # the status went back
    assert any("「備考」はルールの後に変更されている" in p for p in fresh.problems)
