"""Who sees customers' personal data: every page, as every role, through AppTest. 閲覧 gets no
full name, address, phone, postcode or e-mail of the demo shop's orders in any element or in
any download's payload; 編集 gets what shipping needs. A role needs a verified e-mail."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from tests.page_probe import APP, PAGES, Downloads, element_text
from tests.test_auth import AUTH

pytestmark = pytest.mark.usefixtures("fresh_caches")

ACCESS = {"tencho@example.jp": "管理", "staff@example.jp": "編集", "part@example.jp": "閲覧"}
EMAIL = {"管理": "tencho@example.jp", "編集": "staff@example.jp", "閲覧": "part@example.jp"}


def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), datetime.now(JST))
    return url


def personal_data(sql_url: str) -> set[str]:
    """Each order's identifying values as stored (a masked name keeps only the family name)."""
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": sql_url}}), datetime.now(JST))
    orders = read_tables(workbook)["受注"].models()
    shop = load_settings({}).app
    values: set[str] = set()
    for o in orders:
        for name in (o.buyer_name, o.recipient_name):
            values.add(name.strip())
            given = re.split(r"[ 　]", name.strip(), maxsplit=1)
            if len(given) == 2 and len(given[1]) >= 2:
                values.add(name.strip().replace(" ", "").replace("　", ""))  # 山田太郎 too
        values.add(o.address.strip())
        values.update([o.phone or "", re.sub(r"\D", "", o.phone or ""), o.email.strip(), o.postcode or ""])
    values -= {shop.shop_postcode, shop.shop_address, shop.shop_phone, shop.shop_name}
    return {v for v in values if len(v) >= 4}


def page_as(sql_url: str, role: str, page: str, *, verified: object = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["auth"] = AUTH
    at.secrets["access"] = ACCESS
    # B2クラウド's ご請求先, without which the default carrier file (B2) is not made
    at.secrets["carriers"] = {"yamato": {"billing_customer_code": "0312345678", "freight_number": "01"}}
    at.user = {"is_logged_in": True, "email": EMAIL[role], "email_verified": verified}
    at.run()
    if page != "pages/home.py":
        at.switch_page(page)
        at.run()
    if page == "pages/shipping.py":  # every waiting order chosen: the most a role could see
        at.checkbox(key="shipping_all").check().run()
    assert not at.exception, at.exception
    return at


def leaks(text: str, personal: set[str]) -> list[str]:
    return sorted(v for v in personal if v in text)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, set[str]]:
    url = seeded(tmp_path_factory.mktemp("matrix"))
    personal = personal_data(url)
    assert len(personal) > 50  # the demo shop's orders really carry personal data
    return url, personal


@pytest.mark.parametrize("page", PAGES)
def test_a_viewer_sees_no_personal_data_on_any_page_or_download(
    page: str, shop: tuple[str, set[str]], downloads: Downloads
) -> None:
    url, personal = shop
    at = page_as(url, "閲覧", page)
    assert leaks(element_text(at), personal) == []
    for name, text in downloads.texts():
        assert leaks(text, personal) == [], name


def test_a_viewer_on_shipping_also_after_choosing_a_mail_template(
    shop: tuple[str, set[str]], downloads: Downloads
) -> None:
    url, personal = shop
    at = page_as(url, "閲覧", "pages/shipping.py")
    for choice in at.selectbox(key="mail_template").options:
        at.selectbox(key="mail_template").set_value(choice).run()
        assert leaks(element_text(at), personal) == [], choice
    assert not [b for b in at.get("download_button") if b.proto.label.endswith("（PDF）")]
    assert not [e for e in at.get("html") if "mail-preview" in e.proto.body]  # no mail body
    for name, text in downloads.texts():
        assert leaks(text, personal) == [], name


@pytest.mark.parametrize("role", ["編集", "管理"])
def test_staff_who_ship_get_the_documents_and_the_carrier_file_with_names(
    role: str, shop: tuple[str, set[str]], downloads: Downloads
) -> None:
    url, personal = shop
    at = page_as(url, role, "pages/shipping.py")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "ピッキングリスト（PDF）" in labels and any(label.startswith("納品書") for label in labels)
    texts = dict(downloads.texts())
    carrier = next(text for name, text in texts.items() if name.endswith(".csv"))
    slips = next(text for name, text in texts.items() if name.startswith("nouhinsho"))
    assert leaks(carrier, personal) and leaks(slips, personal)
    assert [e for e in at.get("html") if "mail-preview" in e.proto.body]  # the mail preview


@pytest.mark.parametrize("verified", [False, None, "false"])
def test_an_unverified_email_gets_no_role(shop: tuple[str, set[str]], verified: object) -> None:
    url, personal = shop
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["auth"] = AUTH
    at.secrets["access"] = ACCESS
    user = {"is_logged_in": True, "email": "tencho@example.jp"}
    if verified is not None:
        user["email_verified"] = verified
    at.user = user
    at.run()
    assert not at.exception
    assert any("メールアドレスが確認されていない" in e.value for e in at.error)
    assert not at.metric
    assert leaks(element_text(at), personal) == []


def test_every_page_the_app_routes_is_probed() -> None:
    routed = re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', Path(APP).read_text(encoding="utf-8"))
    assert sorted(routed) == sorted(PAGES)


def test_a_viewer_on_purchasing_sees_orders_but_cannot_order_or_receive(shop: tuple[str, set[str]]) -> None:
    url, _ = shop
    at = page_as(url, "閲覧", "pages/purchasing.py")
    keys = {b.key for b in at.button}
    assert not keys & {"po_draft", "po_receive", "po_free_receive"}
    assert any("「編集」以上の権限が必要です" in i.value for i in at.info)
    editor = page_as(url, "編集", "pages/purchasing.py")
    assert "po_draft" in {b.key for b in editor.button}


def test_a_viewer_sees_bundle_proposals_and_groups_without_names_or_addresses(
    tmp_path: Path, downloads: Downloads
) -> None:
    from shipping import bundles
    from tests.shop_fixtures import staff_edit

    url = seeded(tmp_path)
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), datetime.now(JST))
    # Open orders of any status (some hours the demo has only five 発送待ち, not all packed here).
    waiting = [o for o in read_tables(workbook)["受注"].models() if bundles.groupable(o)]
    for lead, other in ((waiting[0], waiting[1]), (waiting[2], waiting[3])):
        same = {"購入者名": lead.buyer_name, "送付先氏名": lead.recipient_name or lead.buyer_name,
                "郵便番号": lead.postcode, "住所": lead.address}  # fmt: skip
        staff_edit(workbook, "受注", (other.mall, other.order_number), same)
    keys = [(o.mall, o.order_number) for o in waiting[2:4]]
    workbook.write(bundles.confirm_job(read_tables(workbook), keys, datetime.now(JST))[1])
    personal = personal_data(url)
    at = page_as(url, "閲覧", "pages/shipping.py")
    assert any("同梱" in h.value for h in at.subheader)  # the section is drawn for 閲覧 too
    assert not [b for b in at.get("button") if (b.key or "").startswith("bundle_undo_")]
    assert leaks(element_text(at), personal) == []
    for name, text in downloads.texts():
        assert leaks(text, personal) == [], name


def test_only_an_admin_gets_the_reconciliation_fixes(tmp_path: Path) -> None:
    """The drift table is shown to every role; 「在庫照合を今すぐ実行」 and the fixes only to 管理."""
    from sheets_schema.book import ensure_tabs
    from sheets_schema.changes import WriteJob
    from sheets_schema.tabs import STOCK_DRIFTS

    url = seeded(tmp_path)
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), datetime.now(JST))
    ensure_tabs(workbook, (STOCK_DRIFTS,))
    listing = read_tables(workbook)["モール商品"].models()[0]
    job = WriteJob()
    row = {
        "モール": listing.mall,
        "SKU": listing.sku,
        "モール商品コード": listing.mall_item_code,
        "モールSKU": listing.mall_sku or "",
        "モールの数": 99,
        "販売可能数": 3,
        "前回送信数": 3,
        "差": 96,
        "原因": "モール側で変更",
        "対応": "こちらの数を送る",
        "日時": datetime.now(JST),
    }
    job.append(read_tables(workbook, [STOCK_DRIFTS])[STOCK_DRIFTS.title], [row])
    workbook.write(job)
    for role, allowed in (("閲覧", False), ("編集", False), ("管理", True)):
        at = page_as(url, role, "pages/sync.py")
        assert any("モール側で変更" in set(frame.value.get("原因", [])) for frame in at.dataframe), role
        keys = {b.key for b in at.button}
        assert ({"drift_fix", "drift_reconcile"} <= keys) is allowed, (role, keys)
        assert bool({"drift_fix", "drift_reconcile"} & keys) is allowed, role
    # 管理 reads the demo malls back now: the demo malls show what was pushed (nothing yet: 0).
    at.button(key="drift_reconcile").click().run()
    assert not at.exception, at.exception
    assert any("最終の在庫照合" in c.value for c in at.caption)
