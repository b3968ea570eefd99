"""受注ルール: conditions and actions (pure), rules applied by the real sync engine to the orders
it imports (once: a replay applies nothing twice), a bad rule keeping every rule from running,
the dry run, applying now, and undo that keeps a person's later edit."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.models import Order, OrderLine, OrderRule
from shop.orders import rules as board_rules
from sync.rules import RuleSet
from tests.shop_fixtures import Shop, sqlite_shop

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)


def order(**values: Any) -> Order:
    base = {
        "モール": "楽天",
        "注文番号": "338112-1",
        "注文日時": NOW,
        "ステータス": "新規",
        "支払方法": "クレジットカード",
        "購入者名": "山田 太郎",
        "送付先氏名": "山田 太郎",
        "郵便番号": "150-0001",
        "住所": "東京都渋谷区神宮前1-2-3",
        "電話番号": "090-1234-5678",
        "合計金額": 5000,
    }
    return Order.model_validate(base | values)


def line(sku: str = "TWL-FACE-WH") -> OrderLine:
    return OrderLine.model_validate(
        {"モール": "楽天", "注文番号": "338112-1", "明細番号": 1, "SKU": sku, "数量": 1, "単価": 1000}
    )


def rule(n: int, name: str, **values: Any) -> OrderRule:
    return OrderRule.model_validate({"順番": n, "ルール名": name, **values})


def ruleset(*rules: OrderRule) -> RuleSet:
    from sync.rules import CompiledRule

    ordered = sorted(rules, key=lambda r: r.order)  # as RuleSet.from_table sorts the tab's rows
    return RuleSet([CompiledRule.of(r, i + 2) for i, r in enumerate(ordered)])


@pytest.mark.parametrize(
    ("conditions", "facts", "matches"),
    [
        ({"モール": "楽天、Yahoo!"}, {}, True),
        ({"モール": "Amazon"}, {}, False),
        ({"支払方法": "代金引換"}, {"支払方法": "代金引換"}, True),
        ({"金額（以上）": "30000"}, {"合計金額": 29999}, False),
        ({"金額（以上）": "30000", "金額（以下）": "50000"}, {"合計金額": 30000}, True),
        ({"備考": "あり"}, {"備考": ""}, False),
        ({"備考": "あり"}, {"備考": "午前中希望"}, True),
        ({"備考": "なし"}, {"備考": "午前中希望"}, False),
        ({"備考": "のし、ラッピング"}, {"備考": "のし紙をお願いします"}, True),
        ({"SKU": "SOX-RIB-3P"}, {}, False),
        ({"都道府県": "沖縄県"}, {"住所": "沖縄県那覇市久茂地1-1"}, True),
        ({"郵便番号": "900-0000〜909-9999"}, {"郵便番号": "905-0011"}, True),
        ({"郵便番号": "90"}, {"郵便番号": "150-0001"}, False),
        ({"購入者": "０９０－１２３４－５６７８"}, {}, True),  # a watched buyer's phone, any width
        ({"購入者": "山田太郎"}, {}, True),
        ({"ギフト": "ON"}, {"送付先氏名": "佐藤 花子"}, True),
        ({"ギフト": "ON"}, {}, False),
        ({"ギフト": "OFF"}, {}, True),
    ],
)
def test_each_condition(conditions: dict[str, str], facts: dict[str, Any], matches: bool) -> None:
    rules = ruleset(rule(1, "r", タグを付ける="印", **conditions))
    after, applied = rules.evaluate(order(**facts), [line()])
    assert bool(applied) is matches
    assert (after.tags == "印") is matches


def test_rules_run_in_order_add_tags_once_hold_with_a_reason_and_stop() -> None:
    rules = ruleset(
        rule(2, "高額", **{"金額（以上）": "3000"}, タグを付ける="高額、要確認"),
        rule(
            1, "備考あり", 備考="あり", ステータスにする="保留", 保留理由="備考を確認", タグを付ける="要確認"
        ),
        rule(3, "止める", ここで終了="ON"),
        rule(4, "届かない", タグを付ける="ここまで来ない"),
    )
    after, applied = rules.evaluate(order(備考="不在時は宅配ボックス"), [line()])
    assert [a.rule for a in applied] == ["備考あり", "高額", "止める"]
    assert after.status == "保留" and after.tags == "要確認、高額"
    assert after.note.endswith("【保留】備考を確認（ルール: 備考あり）")
    assert after.note.startswith("不在時は宅配ボックス")
    shipped, none = rules.evaluate(order(ステータス="出荷済", 備考="x"), [line()])
    assert none == [] and shipped.status == "出荷済"  # closed orders are history


def test_a_rule_row_with_a_mistake_names_its_column_and_no_rule_runs(tmp_path: Path) -> None:
    shop = sqlite_shop(tmp_path)
    _rules(
        shop, [{"順番": "1", "ルール名": "保留", "有効": "ON", "備考": "あり", "ステータスにする": "保留"}]
    )
    tables = shop.tables()
    found = RuleSet.from_table(tables["受注ルール"])
    assert not found.runs
    assert any("「受注ルール」シート" in p and "「保留理由」列" in p for p in found.problems)
    report = shop.engine().run_once()
    assert any("受注ルールに誤りがある" in n for n in report.notes)
    assert not [o for o in shop.tables()["受注"].models() if "ルール" in o.note]


def _rules(shop: Shop, rows: list[dict[str, str]]) -> None:
    """Replace the 受注ルール tab's rows as staff would."""
    tables = shop.tables()
    table = tables["受注ルール"]
    job = WriteJob()
    for record in table.records:
        job.set(table, record.row, {"有効": "OFF"})
    job.append(table, rows)
    shop.workbook.write(job)


def test_the_engine_applies_the_rules_to_new_orders_once_and_records_each_change(tmp_path: Path) -> None:
    shop = sqlite_shop(tmp_path)
    shop.engine().run_once()  # the malls' backlog, before any rule
    _rules(
        shop,
        [
            {
                "順番": "1",
                "ルール名": "備考で保留",
                "有効": "ON",
                "備考": "あり",
                "ステータスにする": "保留",
                "保留理由": "備考を確認",
            },
            {"順番": "2", "ルール名": "楽天に印", "有効": "ON", "モール": "楽天", "タグを付ける": "楽天"},
        ],
    )
    before = {(o.mall, o.order_number) for o in shop.tables()["受注"].models()}
    earlier = len(shop.tables()["_ルール適用"].models())  # the demo's own rules on the backlog
    shop.clock.advance(hours=6)
    shop.engine().run_once()
    tables = shop.tables()
    new = [o for o in tables["受注"].models() if (o.mall, o.order_number) not in before]
    rakuten = [o for o in new if o.mall == "楽天"]
    noted = [o for o in new if o.note.strip()]  # the mall's note, then the rule's reason
    untagged = [(o.order_number, o.status, o.tags) for o in rakuten if "楽天" not in o.tags.split("、")]
    assert rakuten and not untagged, untagged
    assert noted and all(o.status == "保留" and "【保留】備考を確認" in o.note for o in noted)
    assert all(o.rules_applied for o in rakuten)
    all_actions = tables["_ルール適用"].models()
    actions = all_actions[earlier:]
    assert {(a.mall, a.order_number) for a in actions} <= {(o.mall, o.order_number) for o in new}
    assert {a.rule for a in actions} == {"備考で保留", "楽天に印"}
    assert all(a.before == "" and a.after == "楽天" for a in actions if a.column == "タグ")

    shop.clock.advance(minutes=1)
    shop.engine().run_once()  # nothing new
    assert len(shop.tables()["_ルール適用"].models()) == len(all_actions)  # no action twice


def test_the_dry_run_shows_what_a_rule_would_have_done_and_writes_nothing(tmp_path: Path) -> None:
    shop = sqlite_shop(tmp_path)
    tables = shop.tables()
    now = max(o.ordered_at for o in tables["受注"].models()) + timedelta(hours=1)
    cod = rule(1, "代引に印", 支払方法="代金引換", タグを付ける="代引")
    rows = board_rules.dry_run(tables, cod, days=30, now=now)
    expected = {
        (o.mall, o.order_number)
        for o in tables["受注"].models()
        if o.payment_method == "代金引換" and o.ordered_at >= now - timedelta(days=30)
    }
    assert {(r.mall, r.order_number) for r in rows} == expected and expected
    assert all(r.would == "タグ「代引」" for r in rows)
    assert shop.tables()["受注"].grid.rows == tables["受注"].grid.rows


def test_applying_now_then_undo_restores_and_keeps_a_later_edit(tmp_path: Path) -> None:
    shop = sqlite_shop(tmp_path)
    _rules(
        shop,
        [
            {
                "順番": "1",
                "ルール名": "発送待ちは佐川",
                "有効": "ON",
                "ステータスにする": "保留",
                "保留理由": "点検",
                "配送会社にする": "佐川急便",
                "モール": "Shopify",
            },
        ],
    )
    tables = shop.tables()
    result = board_rules.apply_now(tables, now=NOW)
    assert result.changed and not result.problems
    shop.workbook.write(result.job)
    key = result.changed[0]
    held = next(o for o in shop.tables()["受注"].models() if (o.mall, o.order_number) == key)
    original = next(o for o in tables["受注"].models() if (o.mall, o.order_number) == key)
    assert (held.status, held.carrier) == ("保留", "佐川急便")
    shop.staff_edit("受注", key, {"配送会社": "ヤマト運輸"})  # a person changes it afterwards

    undone = board_rules.undo(shop.tables(), key, now=NOW + timedelta(minutes=5))
    shop.workbook.write(undone.job)
    back = next(o for o in shop.tables()["受注"].models() if (o.mall, o.order_number) == key)
    assert back.status == original.status and back.note == original.note
    assert back.carrier == "ヤマト運輸"  # the person's edit is kept, and said so
    assert any("「配送会社」はルールの後に変更されている" in p for p in undone.problems)
    assert board_rules.undo(shop.tables(), key, now=NOW).problems  # nothing left to undo


# -- 受注ボード's ルール tab, through AppTest on the embedded demo


def test_the_rules_tab_dry_runs_an_off_rule_then_applies_the_on_rules_and_undo_works(sql_url: str) -> None:
    from tests.test_orders_board import open_page, select_rows, stored

    at = open_page(sql_url)
    at.session_state["orders_tabs"] = "ルール"  # the tab runs only while it is open
    at.run()
    untouched = stored(sql_url)["受注"].grid.rows
    at.selectbox(key="rules_dry_name").set_value("沖縄・離島").run()
    at.selectbox(key="rules_dry_days").set_value(90).run()
    assert not at.exception
    orders = stored(sql_url)["受注"].models()
    now = datetime.now(JST)
    expected = {
        o.order_number
        for o in orders
        if o.address.startswith("沖縄県") and o.ordered_at >= now - timedelta(days=90)
    }
    assert expected  # the demo ships to Okinawa now and then
    shown = next(d.value for d in at.dataframe if "今のステータス" in d.value.columns)
    assert set(shown["注文番号"]) == expected
    assert all(w.startswith("タグ「離島」") for w in shown["処理"])
    assert any(f"{len(expected)} 件に次の処理" in c.value for c in at.caption)
    assert stored(sql_url)["受注"].grid.rows == untouched  # a dry run writes nothing

    # An open order gets a note, as a buyer's message would bring (the demo's own open orders
    # may have none at this hour): the demo's 「備考あり → 保留」 has something to hold.
    from settings import load_settings
    from sheets_schema.book import open_workbook
    from tests.shop_fixtures import staff_edit

    plain = next(o for o in orders if o.status in ("新規", "発送待ち") and not o.note.strip())
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    staff_edit(workbook, "受注", (plain.mall, plain.order_number), {"備考": "のし紙をお願いします"})
    at.button(key="rules_apply_now").click().run()  # the demo's ON rules over open orders
    assert not at.exception
    after = {(o.mall, o.order_number): o for o in stored(sql_url)["受注"].models()}
    held = [o for o in after.values() if o.rules_applied and o.status == "保留"]
    assert (plain.mall, plain.order_number) in {(o.mall, o.order_number) for o in held}
    assert "【保留】備考の内容を確認" in after[(plain.mall, plain.order_number)].note
    key = (plain.mall, plain.order_number)
    before = next(o for o in stored(sql_url)["受注"].models() if (o.mall, o.order_number) == key)
    before = before.model_copy(update={"status": plain.status, "note": "のし紙をお願いします"})
    frame = next(d for d in at.dataframe if (d.key or "").startswith("orders_table_")).value
    select_rows(at, [int(frame.index[(frame["注文番号"] == key[1]) & (frame["モール"] == key[0])][0])])
    undo = next(b for b in at.button if (b.key or "").startswith("rules_undo_"))
    undo.click().run()
    assert not at.exception
    back = {(o.mall, o.order_number): o for o in stored(sql_url)["受注"].models()}[key]
    assert (back.status, back.note) == (before.status, before.note)


def test_a_viewer_sees_the_rules_and_the_dry_run_but_cannot_apply(sql_url: str) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.test_auth import sign_in
    from tests.test_orders_board import APP

    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    sign_in(at, "viewer@example.com", "閲覧")
    at.run()
    at.switch_page("pages/orders.py").run()
    at.session_state["orders_tabs"] = "ルール"
    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "rules_apply_now"]
    assert any("ルールの適用には「編集」以上の権限が必要です" in i.value for i in at.info)


def test_first_time_buyers_are_told_from_repeat_ones_by_phone_or_own_mail_never_a_relay() -> None:
    from sync.rules import BuyerHistory

    rules = ruleset(
        rule(1, "初めて", 初回購入="ON", タグを付ける="初回"),
        rule(2, "また", 初回購入="OFF", タグを付ける="リピート"),
    )
    earlier = order(注文番号="A-1", 注文日時=NOW - timedelta(days=30), 電話番号="090-1111-2222")
    relay_earlier = order(
        注文番号="A-2",
        注文日時=NOW - timedelta(days=30),
        電話番号=None,
        メールアドレス="x@pc.fw.rakuten.ne.jp",
    )
    rules.history = BuyerHistory.of_orders([earlier, relay_earlier])
    repeat, _ = rules.evaluate(order(注文番号="B-1", 電話番号="０９０１１１１２２２２"), [line()])
    new, _ = rules.evaluate(order(注文番号="B-2", 電話番号="080-9999-0000"), [line()])
    relay, applied = rules.evaluate(
        order(注文番号="B-3", 電話番号=None, メールアドレス="x@pc.fw.rakuten.ne.jp"), [line()]
    )
    assert (repeat.tags, new.tags) == ("リピート", "初回")
    assert relay.tags == "" and applied == []  # a relay address says nothing about who it is
    later = NOW + timedelta(minutes=5)
    again, _ = rules.evaluate(order(注文番号="B-4", 注文日時=later, 電話番号="080-9999-0000"), [line()])
    assert again.tags == "リピート"  # the same new buyer's second order in one batch


def test_the_engine_tags_first_time_buyers_among_the_orders_it_imports(tmp_path: Path) -> None:
    shop = sqlite_shop(tmp_path)
    _rules(
        shop,
        [{"順番": "1", "ルール名": "初めての方", "有効": "ON", "初回購入": "ON", "タグを付ける": "初回"}],
    )
    before = shop.tables()["受注"].models()

    def keys(o: Order) -> set[str]:  # a phone and an own address, as plainly as can be
        digits = "".join(c for c in (o.phone or "") if c.isdigit())
        return {k for k in (digits, o.email) if k}

    seen = set().union(*(keys(o) for o in before))
    shop.engine().run_once()
    known = {(b.mall, b.order_number) for b in before}
    new = [o for o in shop.tables()["受注"].models() if (o.mall, o.order_number) not in known]
    open_new = [o for o in new if o.status in ("新規", "入金待ち", "発送待ち", "保留")]
    returning = [o for o in open_new if keys(o) & seen]
    counted = [k for o in open_new for k in keys(o)]
    firsts = [
        o for o in open_new if keys(o) and not keys(o) & seen and all(counted.count(k) == 1 for k in keys(o))
    ]
    assert returning and firsts  # the demo's regulars come back; new people buy too
    assert all("初回" not in o.tags for o in returning)
    assert all(o.tags == "初回" for o in firsts)


def test_the_rules_tab_does_no_work_until_it_is_opened(sql_url: str) -> None:
    from tests.test_orders_board import open_page

    at = open_page(sql_url)
    assert not [s for s in at.selectbox if s.key == "rules_dry_name"]  # no dry run on the list's reruns
    at.session_state["orders_tabs"] = "ルール"
    at.run()
    assert [s for s in at.selectbox if s.key == "rules_dry_name"]


def test_a_board_job_moves_the_mark_so_the_sync_reads_only_new_action_rows(tmp_path: Path) -> None:
    from sheets_schema.book import read_tables
    from sync import state
    from sync.rules import RULE_MARK

    shop = sqlite_shop(tmp_path)
    _rules(shop, [{"順番": "1", "ルール名": "印", "有効": "ON", "モール": "Shopify", "タグを付ける": "印"}])

    tables = read_tables(shop.workbook, board_rules.APPLY_TABS)  # what the page reads
    result = board_rules.apply_now(tables, now=NOW)
    shop.workbook.write(result.job)
    after = shop.tables()
    mark = int(state.values(after["_システム"])[RULE_MARK])
    assert mark == after["_ルール適用"].next_row  # the sync's tail read starts after these rows
    shop.clock.advance(hours=1)
    shop.engine().run_once()  # and a cycle that creates orders appends after them
    assert len({a.id for a in shop.tables()["_ルール適用"].models()}) == len(
        shop.tables()["_ルール適用"].models()
    )


def test_a_buyer_whose_earlier_orders_were_archived_is_no_first_time_buyer(tmp_path: Path) -> None:
    """初回購入 asks the archive too: the demo's regulars, whose earlier orders left 受注 for the
    archive, come back tagged as repeat buyers, whatever is left in 受注."""
    from sheets_schema import archive_buyers
    from sheets_schema.archive import Archive
    from sheets_schema.tabs import ORDERS as ORDERS_SPEC
    from sync.archive import archive_history
    from sync.rules import BuyerHistory, OrderFacts, buyer_keys

    shop = sqlite_shop(tmp_path)
    shop.engine().run_once()  # the ledger's totals exist: closed orders can move
    shop.clock.advance(hours=1)
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    moved = archive_history(shop.engine(archive=archive), archive, after_days=0)
    assert moved.orders > 0
    in_archive = {(o["モール"], o["注文番号"]): o for o in archive.rows(ORDERS_SPEC)}
    archived_keys = {k for o in in_archive.values() for k in buyer_keys(o["電話番号"], o["メールアドレス"])}
    kept_keys = {k for o in shop.tables()["受注"].models() for k in buyer_keys(o.phone, o.email)}
    only_archived = archived_keys - kept_keys
    assert only_archived  # buyers 受注 no longer shows at all

    _rules(
        shop,
        [{"順番": "1", "ルール名": "初めての方", "有効": "ON", "初回購入": "ON", "タグを付ける": "初回"}],
    )
    before = {(o.mall, o.order_number) for o in shop.tables()["受注"].models()}
    shop.clock.advance(hours=6)
    shop.engine(archive=archive).run_once()
    new = [o for o in shop.tables()["受注"].models() if (o.mall, o.order_number) not in before]
    back = [o for o in new if buyer_keys(o.phone, o.email) & only_archived and o.status != "キャンセル"]
    assert back, "a regular whose orders are all archived comes back"
    assert all("初回" not in o.tags for o in back)
    # Without the archive the first of them would have been taken for a first purchase.
    earlier = [o for o in shop.tables()["受注"].models() if (o.mall, o.order_number) in before]
    facts = OrderFacts.of(back[0], [])
    assert BuyerHistory.of_orders(earlier).first_time(facts) is True
    assert BuyerHistory.of_orders(earlier, archive_buyers.lookup(archive)).first_time(facts) is False


def test_buyer_keys_skip_relay_addresses_the_same_way_customer_analysis_does() -> None:
    """初回購入 and 分析's 顧客 share one list of relay domains and one way to match them: the
    domain or a subdomain of it, not any domain that merely ends in the same letters."""
    from shop.customer_identity import identity
    from vocabulary.buyers import buyer_keys

    assert buyer_keys("", "a1b2@pc.fw.rakuten.ne.jp") == frozenset()
    assert buyer_keys("", "x@marketplace.amazon.co.jp") == frozenset()
    assert buyer_keys("", "Hanako@notfw.rakuten.ne.jp") == {"mail:hanako@notfw.rakuten.ne.jp"}
    assert buyer_keys("090-1234-5678", "") == {"tel:09012345678"}
    relay = identity("楽天", "山田 花子", None, None, "a1b2@pc.fw.rakuten.ne.jp")
    assert relay is not None and relay[0] == "rm"


def test_a_rule_sets_the_delivery_method_and_its_carrier_and_a_mismatch_is_a_row_error(
    tmp_path: Path,
) -> None:
    rules = ruleset(rule(1, "小物はネコポス", SKU="SOX-RIB-NV-M", 配送方法にする="ネコポス"))
    after, applied = rules.evaluate(order(配送会社="佐川急便"), [line("SOX-RIB-NV-M")])
    assert (after.delivery_method, after.carrier) == ("ネコポス", "ヤマト運輸")
    assert [(c.column, c.before, c.after) for c in applied[0].changes] == [
        ("配送方法", "", "ネコポス"),
        ("配送会社", "佐川急便", "ヤマト運輸"),
    ]
    untouched, none = rules.evaluate(order(), [line("TWL-FACE-WH")])
    assert none == [] and untouched.delivery_method is None

    shop = sqlite_shop(tmp_path)
    _rules(
        shop,
        [
            {
                "順番": "1",
                "ルール名": "食い違い",
                "有効": "ON",
                "配送会社にする": "日本郵便",
                "配送方法にする": "宅急便コンパクト",
            }
        ],
    )
    found = RuleSet.from_table(shop.tables()["受注ルール"])
    assert not found.runs
    assert any("「配送方法にする」列" in p and "ヤマト運輸の配送方法です" in p for p in found.problems)
