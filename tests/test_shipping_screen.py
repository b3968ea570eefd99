"""The 出荷 page's pure helpers (shipping/screen.py); the page itself is covered by
tests/test_shipping_page.py and tests/test_role_matrix.py through AppTest."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from shipping import documents, screen
from shop.privacy import mask_name


def _order(**kw):
    base = dict(
        mall="楽天",
        order_number="R-1",
        ordered_at=datetime(2025, 4, 1, 9, 5),
        recipient_name="",
        buyer_name="山田 太郎",
        total=3300,
        payment_method="クレジットカード",
        email="t@example.com",
        bundle="",
        delivery_method=None,
    )
    return SimpleNamespace(**{**base, **kw})


def test_waiting_rows_mask_the_recipient_only_when_asked() -> None:
    order = _order(recipient_name="佐藤 花子")
    assert screen.waiting_rows([order], None)[0]["送付先"] == "佐藤 花子"
    masked = screen.waiting_rows([order], mask_name)[0]
    assert masked["送付先"] == mask_name("佐藤 花子") != "佐藤 花子"
    assert screen.waiting_rows([_order()], None)[0] == {
        "モール": "楽天",
        "注文番号": "R-1",
        "注文日時": "2025-04-01 09:05",
        "送付先": "山田 太郎",
        "合計金額": 3300,
        "支払方法": "クレジットカード",
        "配送方法": "",
        "同梱": "",
    }
    assert screen.waiting_rows([_order(delivery_method="ネコポス")], None)[0]["配送方法"] == "ネコポス"


def test_picking_tracking_and_outbox_rows() -> None:
    pick = documents.PickLine(None, "謎の品", 2, 1, (("楽天", "1"),))
    assert screen.picking_rows([pick])[0]["SKU"] == "要確認"
    row = SimpleNamespace(
        line=3, mall="", order_number="", key="X-9", tracking_number="1", status="不明", reason="?"
    )
    assert screen.tracking_rows([row])[0]["注文"] == "X-9"
    saved = [SimpleNamespace(subject=f"s{i}", to="a@b") for i in range(25)]
    assert len(screen.outbox_rows(saved)) == screen.OUTBOX_SHOWN


def test_mail_choices_and_targets_carry_each_orders_lines() -> None:
    order = _order()
    choices = screen.mail_choices([order])
    assert list(choices) == ["楽天 R-1（山田 太郎）"]
    target = screen.mail_targets([order], {("楽天", "R-1"): ["line"]})[0]
    assert target.order is order and list(target.lines) == ["line"] and target.email == "t@example.com"
    app = SimpleNamespace(shop_name="一元", shop_postcode="100-0001", shop_address="東京", shop_phone="03")
    assert screen.shop_info(app).name == screen.sender(app).name == "一元"
