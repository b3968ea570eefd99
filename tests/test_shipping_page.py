"""The 出荷 page through AppTest on the demo workbook: documents and carrier file offered for the
発送待ち orders; a tracking file turns them 出荷済 with their numbers; a mail previews."""

from __future__ import annotations

import email
import email.policy

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT, load_settings
from sheets_schema.book import open_workbook, read_tables
from shipping import bundles, mail
from tests.shop_fixtures import staff_edit
from ui import bundle_section

pytestmark = pytest.mark.usefixtures("fresh_caches")
APP = str(PROJECT_ROOT / "app.py")


YAMATO = {"billing_customer_code": "0312345678", "freight_number": "01"}


def shipping_page(sql_url: str, yamato: dict | None = YAMATO, *, everything: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    if yamato is not None:
        at.secrets["carriers"] = {"yamato": yamato}
    at.run()
    at.switch_page("pages/shipping.py")
    at.run()
    if everything:  # AppTest cannot click dataframe rows: take every waiting order explicitly
        at.checkbox(key="shipping_all").check()
    return at.run()


def mail_preview(at: AppTest) -> str:
    """The text of the mail preview box (st.html)."""
    (box,) = [e.proto.body for e in at.get("html") if 'data-testid="mail-preview"' in e.proto.body]
    return box


def test_nothing_is_printed_or_exported_until_staff_choose_the_orders(sql_url: str) -> None:
    at = shipping_page(sql_url, everything=False)
    assert not at.exception
    assert not at.get("download_button")  # no 納品書, no carrier file for orders nobody chose
    assert any("出荷する注文を上の表で選んでください" in i.value for i in at.info)
    at.checkbox(key="shipping_all").check().run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "ピッキングリスト（PDF）" in labels and any(label.startswith("納品書") for label in labels)
    assert any("すべての" in c.value and "件を対象にします" in c.value for c in at.caption)


def test_the_mail_preview_is_text_not_markup(sql_url: str) -> None:
    at = shipping_page(sql_url)
    at.selectbox(key="mail_template").set_value("サンクスメール").run()
    box = mail_preview(at)
    assert "件名: " in box and "white-space:pre-wrap" in box
    assert "<script" not in box and "<b>" not in box


def test_documents_and_a_carrier_file_are_offered_for_the_waiting_orders(sql_url: str) -> None:
    at = shipping_page(sql_url)
    assert not at.exception
    waiting = [
        o
        for o in read_tables(open_workbook(load_settings({"workbook": {"sql_url": sql_url}})))[
            "受注"
        ].models()
        if o.status == "発送待ち"
    ]
    assert any(f"発送待ち {len(waiting)} 件" in h.value for h in at.subheader)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "ピッキングリスト（PDF）" in labels and f"納品書 {len(waiting)} 枚（PDF）" in labels
    assert any("B2" in label or "ヤマト" in label for label in labels)


def test_b2_file_is_not_offered_without_the_billing_codes_and_says_where_to_set_them(sql_url: str) -> None:
    at = shipping_page(sql_url, yamato=None)
    assert not at.exception
    (error,) = [e.value.replace("\\", "") for e in at.error]  # as shown: markdown escapes removed
    assert "ご請求先顧客コード" in error and "[carriers.yamato]" in error and "secrets.toml" in error
    assert not any("B2" in b.proto.label for b in at.get("download_button"))


def test_orders_that_do_not_fit_are_listed_before_the_download_and_left_out(sql_url: str) -> None:
    at = shipping_page(sql_url)  # seeds the demo workbook
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    waiting = [o for o in read_tables(workbook)["受注"].models() if o.status == "発送待ち"]
    long = waiting[0]
    staff_edit(workbook, "受注", (long.mall, long.order_number), {"住所": "東京都" + "あ" * 60})
    st.cache_data.clear()  # as after the snapshot's time to live
    st.cache_resource.clear()
    at = shipping_page(sql_url)
    at.selectbox(key="shipping_layout").set_value("sagawa_ehiden2").run()
    assert not at.exception
    assert any("1 件の注文は送り状の欄に入らない" in w.value for w in at.warning)
    table = at.dataframe[-1].value
    assert list(table["注文番号"]) == [long.order_number]
    assert "お届け先住所1" in table["列"][0] and "全角48文字" in table["理由"][0]
    label = next(b.proto.label for b in at.get("download_button") if "e飛伝II" in b.proto.label)
    assert f"{len(waiting) - 1} 件・1 件を除く" in label


def test_a_tracking_file_marks_orders_shipped_with_their_numbers(sql_url: str) -> None:
    at = shipping_page(sql_url)
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    waiting = [o for o in read_tables(workbook)["受注"].models() if o.status == "発送待ち"][:2]
    rows = "\n".join(f"{o.order_number},{4000_0000_0000 + i}" for i, o in enumerate(waiting))
    at.file_uploader(key="tracking_file").set_value(
        ("tracking.csv", f"注文番号,追跡番号\n{rows}\n".encode(), "text/csv")
    ).run()
    assert not at.exception
    at.selectbox(key="tracking_carrier").set_value("ヤマト運輸").run()
    button = next(b for b in at.button if "出荷済にしてモールへ連絡する" in b.label)
    button.click().run()
    assert not at.exception
    after = {o.order_number: o for o in read_tables(workbook)["受注"].models()}
    for i, order in enumerate(waiting):
        shipped = after[order.order_number]
        assert (shipped.status, shipped.carrier, shipped.tracking_number) == (
            "出荷済",
            "ヤマト運輸",
            str(4000_0000_0000 + i),
        )
        assert shipped.shipment_notice  # the mall was told (or its refusal recorded)
    at.run()
    assert any("お客様へのメール" in h.value for h in at.subheader)
    at.selectbox(key="mail_template").set_value("発送連絡").run()
    # only the two orders with tracking numbers are due for 発送連絡; the first is previewed
    assert any(o.order_number in mail_preview(at) for o in waiting)


def test_shipping_mails_go_to_the_outbox_once_when_no_mail_server_is_set(sql_url: str, tmp_path) -> None:
    at = shipping_page(sql_url)
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    order = next(o for o in read_tables(workbook)["受注"].models() if o.status == "発送待ち")
    at.file_uploader(key="tracking_file").set_value(
        ("t.csv", f"注文番号,追跡番号\n{order.order_number},123456789012\n".encode(), "text/csv")
    ).run()
    at.selectbox(key="tracking_carrier").set_value("佐川急便").run()
    next(b for b in at.button if "出荷済にしてモールへ連絡する" in b.label).click().run()
    at.run()
    at.selectbox(key="mail_template").set_value("発送連絡").run()
    send = next(b for b in at.button if "「発送連絡」を送る" in b.label)
    send.click().run()
    assert not at.exception
    log = read_tables(workbook)["メール送信履歴"].models()
    assert [(r.order_number, r.state) for r in log if r.order_number == order.order_number] == [
        (order.order_number, "outbox")
    ]
    (saved,) = list((tmp_path / "outbox").glob("*.eml"))
    message = email.message_from_bytes(saved.read_bytes(), policy=email.policy.default)
    assert "123456789012" in message.get_content() and order.order_number in str(message["Subject"])
    next(b for b in at.button if "「発送連絡」を送る" in b.label).click().run()
    assert (
        len(
            [
                r
                for r in read_tables(workbook)["メール送信履歴"].models()
                if r.order_number == order.order_number
            ]
        )
        == 1
    )


def _send_button(at: AppTest, name: str):
    return next(b for b in at.button if f"「{name}」を送る" in b.label)


def test_thanks_mail_counts_only_orders_not_shipped_nor_cancelled(sql_url: str) -> None:
    at = shipping_page(sql_url)
    orders = read_tables(open_workbook(load_settings({"workbook": {"sql_url": sql_url}})))["受注"].models()
    due = [o for o in orders if o.status not in ("出荷済", "キャンセル")]
    assert len(due) < len(orders) - 20  # the demo has many shipped orders
    at.selectbox(key="mail_template").set_value("サンクスメール").run()
    button = _send_button(at, "サンクスメール")
    # More than CONFIRM_ABOVE mails wait for a tick first (tested below); the count is what matters.
    assert button.label.endswith(f"（{len(due)} 件）") and button.disabled == (len(due) > mail.CONFIRM_ABOVE)
    labels = at.selectbox(key="mail_order").options
    assert len(labels) == len(due)
    assert not any(o.order_number in label for o in orders if o.status == "出荷済" for label in labels)


def test_a_batch_above_the_threshold_needs_a_confirmation_then_is_sent_once(sql_url: str, tmp_path) -> None:
    at = shipping_page(sql_url)
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    at.selectbox(key="mail_template").set_value("フォローメール").run()
    button = _send_button(at, "フォローメール")
    count = len(at.selectbox(key="mail_order").options)
    assert count > 20 and button.label.endswith(f"（{count} 件）")
    assert button.disabled  # more than 20 mails: staff confirm first
    at.checkbox(key="mail_ok_フォローメール").check().run()
    assert not _send_button(at, "フォローメール").disabled
    _send_button(at, "フォローメール").click().run()
    assert not at.exception
    log = read_tables(workbook)["メール送信履歴"].models()
    assert len(log) == count and {r.state for r in log} == {"outbox"}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == count
    at.run()
    assert not [b for b in at.button if "「フォローメール」を送る" in b.label]  # nothing due any more
    assert any("送る対象の注文はありません" in c.value for c in at.caption)


def test_applying_tracking_numbers_while_another_sync_holds_the_lease(sql_url: str) -> None:
    """Another runner (``python -m sync watch`` elsewhere) holds the lease when staff apply a
    tracking file: the statuses and numbers are still written, and the page says in Japanese that
    the running sync tells the malls, instead of an exception."""
    from datetime import datetime

    from sheets_schema.book import open_prepared_workbook
    from sheets_schema.cells import JST
    from sync.engine import SyncEngine
    from sync.errors import LeaseHeld

    at = shipping_page(sql_url)
    settings = load_settings({"workbook": {"sql_url": sql_url}})
    workbook = open_workbook(settings)
    waiting = [o for o in read_tables(workbook)["受注"].models() if o.status == "発送待ち"][:2]
    other = SyncEngine(
        open_prepared_workbook(settings, datetime.now(JST)), [], settings.sync, holder="other-host-1-abc"
    )
    other.acquire_lease()  # a runner elsewhere is mid-cycle
    rows = "\n".join(f"{o.order_number},{5000_0000_0000 + i}" for i, o in enumerate(waiting))
    at.file_uploader(key="tracking_file").set_value(
        ("tracking.csv", f"注文番号,追跡番号\n{rows}\n".encode(), "text/csv")
    ).run()
    at.selectbox(key="tracking_carrier").set_value("佐川急便").run()
    next(b for b in at.button if "出荷済にしてモールへ連絡する" in b.label).click().run()
    assert not at.exception
    assert any("ちょうど別の同期が実行中でした" in i.value for i in at.info)
    after = {o.order_number: o for o in read_tables(workbook)["受注"].models()}
    for i, order in enumerate(waiting):
        shipped = after[order.order_number]
        assert (shipped.status, shipped.carrier, shipped.tracking_number) == (
            "出荷済",
            "佐川急便",
            str(5000_0000_0000 + i),
        )
        assert not shipped.shipment_notice  # the malls are told by the lease holder, not here
    with pytest.raises(LeaseHeld):  # the other runner still holds it: nothing took it over
        SyncEngine(workbook, [], settings.sync, holder="third").acquire_lease()


def test_the_carrier_tab_keeps_unconfirmed_format_notes_under_details(sql_url: str) -> None:
    at = shipping_page(sql_url)
    assert not at.exception
    (details,) = [e for e in at.expander if e.label.startswith("詳細（この形式で")]
    hidden = [c.value for c in details.caption]
    assert any("未確認" in text for text in hidden)
    shown = [c.value for c in at.caption if c.value not in hidden]
    assert not any("未確認" in text or text.startswith("⚠") for text in shown)  # not on the page


def test_the_demo_mails_by_itself_and_the_page_shows_its_queue(sql_url: str) -> None:
    at = shipping_page(sql_url)
    assert not at.exception
    (queue,) = [e for e in at.expander if e.label.startswith("自動送信:")]
    assert all(name in queue.label for name in ("サンクスメール", "入金確認", "発送連絡", "フォローメール"))
    assert any("Amazon の購入者には送りません" in c.value for c in queue.caption)
    # Switched ON with the demo: nothing of the seeded history is queued.
    assert any("いま送る予定のメールはありません" in c.value for c in queue.caption)


def _make_pair(sql_url: str) -> list[tuple[str, str]]:
    """Two 発送待ち orders of two malls made to go to one customer: a 同梱 proposal."""
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    orders = read_tables(workbook)["受注"].models()
    # Whatever the demo's date: two 発送待ち orders of two malls, neither from Amazon FBA.
    waiting = [o for o in orders if o.status == "発送待ち" and o.allocates_stock]
    first = waiting[0]
    second = next(o for o in waiting if o.mall != first.mall)
    same = {"購入者名": first.buyer_name, "送付先氏名": first.recipient_name or first.buyer_name,
            "郵便番号": first.postcode, "住所": first.address}  # fmt: skip
    staff_edit(workbook, "受注", (second.mall, second.order_number), same)
    return [(first.mall, first.order_number), (second.mall, second.order_number)]


def _bundles(sql_url: str, keys: list[tuple[str, str]]) -> list[str]:
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    by_key = {(o.mall, o.order_number): o for o in read_tables(workbook)["受注"].models()}
    return [by_key[k].bundle for k in keys]


def test_staff_confirm_a_proposed_group_and_undo_it(sql_url: str) -> None:
    at = shipping_page(sql_url, everything=False)  # seeds the demo
    keys = _make_pair(sql_url)
    st.cache_data.clear()  # the page reads the edited workbook, as after its cache expires
    st.cache_resource.clear()
    at = shipping_page(sql_url, everything=False)
    assert not at.exception
    assert any("同梱" in h.value for h in at.subheader)
    (box,) = [e for e in at.expander if e.label.startswith("同梱候補")]
    count = int(box.label.removeprefix("同梱候補 ").removesuffix(" 組").replace(",", ""))
    assert box.proto.expanded is (count <= bundle_section.OPEN_UP_TO)  # a few are shown open
    pick = next(c for c in at.checkbox if c.key and all(f"{m}:{n}" in c.key for m, n in keys))
    assert at.button(key="bundle_confirm").proto.disabled  # nothing ticked yet
    pick.check().run()
    at.button(key="bundle_confirm").click().run()
    assert not at.exception
    (ident, again) = _bundles(sql_url, keys)
    assert ident.startswith("同梱-") and again == ident
    assert any("同梱を確定しました" in s.value and ident in s.value for s in at.success)

    # Printing takes the group as one box: one 納品書 for its two orders.
    at.checkbox(key="shipping_all").check().run()
    waiting = [b for b in at.get("download_button") if b.proto.label.startswith("納品書")]
    count = int(waiting[0].proto.label.split()[1])
    shown = next(h.value for h in at.subheader if h.value.startswith("発送待ち"))
    # The proposal may hold more than the two (a regular customer's own second order to the
    # same address joins it): the box takes every order of the group.
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    members = [
        o for o in read_tables(workbook)["受注"].models() if o.bundle == ident and o.status == "発送待ち"
    ]
    assert len(members) >= 2 and count == int(shown.split()[1]) - (len(members) - 1)

    at.button(key=f"bundle_undo_{ident}").click().run()
    assert not at.exception
    assert _bundles(sql_url, keys) == ["", ""]
    assert any("解除しました" in s.value for s in at.success)


def test_many_bundle_proposals_are_shown_a_page_at_a_time(sql_url: str, monkeypatch) -> None:
    """Hundreds of proposals (a big shop) made every rerun draw hundreds of tables: they come a
    page at a time; the page picker appears only when there is more than one page."""

    at = shipping_page(sql_url, everything=False)  # seeds the demo
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    # Three pairs of open orders, any status and any malls (a box may hold orders of one mall):
    # some hours the demo has only five 発送待ち orders, some of them at one mall.
    waiting = [o for o in read_tables(workbook)["受注"].models() if bundles.groupable(o)]
    firsts: list = []
    seconds: list = []
    for o in waiting:
        if len(firsts) < 3 and bundles.destination(o) not in {bundles.destination(f) for f in firsts}:
            firsts.append(o)
        else:
            seconds.append(o)
    pairs = []
    for first, second in zip(firsts, seconds, strict=False):
        same = {"購入者名": first.buyer_name, "送付先氏名": first.recipient_name or first.buyer_name,
                "郵便番号": first.postcode, "住所": first.address}  # fmt: skip
        staff_edit(workbook, "受注", (second.mall, second.order_number), same)
        pairs.append(((first.mall, first.order_number), (second.mall, second.order_number)))
    assert len(pairs) == 3
    monkeypatch.setattr(bundle_section, "PAGE", 2)
    monkeypatch.setattr(bundle_section, "OPEN_UP_TO", 2)  # three pairs at least: more than that
    st.cache_data.clear()
    st.cache_resource.clear()
    at = shipping_page(sql_url, everything=False)
    assert not at.exception

    def picks() -> list[str]:
        return [c.label for c in at.checkbox if c.key and c.key.startswith("bundle_pick_")]

    shown = picks()
    assert len(shown) == 2 and shown[0].startswith("同梱候補 1:") and shown[1].startswith("同梱候補 2:")
    (pager,) = [n for n in at.number_input if n.key == "bundle_proposals_page"]
    total = int(pager.label.split(" 組")[0].split()[-1].replace(",", ""))
    assert total >= 3  # the three made here, and any the demo has of its own
    # More than OPEN_UP_TO proposals wait in a closed box, so the 発送待ち list stays near the top.
    (box,) = [e for e in at.expander if e.label.startswith("同梱候補")]
    assert box.label == f"同梱候補 {total:,} 組" and box.proto.expanded is False
    pager.set_value(2).run()
    assert [label.split(":")[0] for label in picks()] == [
        f"同梱候補 {n}" for n in range(3, min(total, 4) + 1)
    ]
