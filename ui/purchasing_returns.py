"""返品 tab of 発注・入荷: find a shipped order, register a return against one of its lines
(良品 back to 実在庫, 不良 to 不良在庫), and handle 不良在庫 (不良処分, 不良振替).

What the person saw is kept in session state when the tab is drawn (the units returned per line,
不良在庫 per SKU, a token per form), and the action compares the workbook with it: a second press
or a retry after a write that had landed is refused instead of counted twice. 閲覧 sees
everything (buyer names masked) and registers nothing. The logic is in ``purchasing``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from purchasing.defective import DISPOSE, MARK, move_defective
from purchasing.ledger_now import LedgerNow, read_ledger_now
from purchasing.returns import DEFECTIVE, GOOD, OrderForReturn, ReturnableLine, find_order, register_return
from sheets_schema.cells import JST, format_datetime
from sheets_schema.errors import WorkbookError
from sheets_schema.models import Product
from sheets_schema.parsing import parse_grid
from sheets_schema.tabs import PRODUCTS
from shop.privacy import mask_name
from ui import auth, context
from ui.purchasing_actions import Flash, refused, settle, write
from vocabulary.text import escape_markdown

FLASH = Flash("returns_flash")
LOOKUP = "returns_lookup"  # (注文番号, モール or "")
FOUND = "returns_found"  # the OrderForReturn drawn last
DEFECTIVE_SHOWN = "returns_defective_shown"  # (LedgerNow, products) drawn last
TOKEN = "returns_defective_token"


def returns_tab() -> None:
    role = context.role()
    FLASH.show()
    st.caption(
        "出荷済の注文の明細に返品を登録します。良品は実在庫に戻り、不良は不良在庫（実在庫とは別）に入ります。"
        "登録するとすぐに在庫へ反映し、各モールへ在庫数を送ります。"
    )
    _lookup_form()
    lookup = st.session_state.get(LOOKUP)
    if lookup:
        found = _found(*lookup)
        if found is not None:
            _order(found, role)
    st.divider()
    _defective_section(role)


# -- finding the order


def _lookup_form() -> None:
    with st.form("returns_lookup_form", border=False):
        number_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
        number = number_col.text_input(
            "注文番号", placeholder="例: 123456-20261201-0001", key="returns_number"
        )
        if button_col.form_submit_button("注文を表示", icon=":material/search:", width="stretch"):
            if number.strip():
                st.session_state[LOOKUP] = (number.strip(), "")
                st.session_state.pop(FOUND, None)
            else:
                st.warning("注文番号を入力してください。")


def _found(number: str, mall: str) -> OrderForReturn | None:
    """The order as drawn last (so a click compares with what was seen); read afresh after a
    lookup or a write."""
    found = st.session_state.get(FOUND)
    if found is None:
        try:
            found = find_order(context.workbook(), number, mall or None)
        except WorkbookError as exc:
            st.error(f"読み込めませんでした: {escape_markdown(exc)}", icon=":material/error:")
            return None
        st.session_state[FOUND] = found
    return found


def _order(found: OrderForReturn, role: auth.Role) -> None:
    if len(found.candidates) > 1 and found.order is None:
        mall = st.selectbox(
            "モール", found.candidates, index=None, placeholder="選んでください", key="returns_mall"
        )
        if mall:
            st.session_state[LOOKUP] = (found.number, mall)
            st.session_state.pop(FOUND, None)
            st.rerun()
    if found.order is not None:
        order = found.order
        name = order.buyer_name if auth.can(role, "編集") else mask_name(order.buyer_name)
        summary = pd.DataFrame(
            [
                {
                    "モール": found.mall,
                    "注文番号": found.number,
                    "注文日時": format_datetime(order.ordered_at),
                    "ステータス": order.status,
                    "購入者名": name,
                }
            ]
        )
        st.dataframe(summary, hide_index=True, width="stretch")
        st.dataframe(_lines_frame(found.lines), hide_index=True, width="stretch")
        if found.read_whole_ledger:
            st.caption(
                "この注文には以前の返品があるため、在庫移動の台帳をすべて読んで返品済みの数を数えました。"
            )
    if found.problem:
        st.info(escape_markdown(found.problem), icon=":material/info:")
        return
    if auth.require(role, "編集", "返品の登録"):
        _return_form(found)


def _lines_frame(lines: list[ReturnableLine]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "明細番号": x.line_number,
                "SKU": x.sku or "（SKU不明）",
                "商品名": x.name,
                "数量": x.quantity,
                "出荷数": x.shipped,
                "返品済み": x.returned,
                "返品できる数": x.returnable,
            }
            for x in lines
        ],
        columns=["明細番号", "SKU", "商品名", "数量", "出荷数", "返品済み", "返品できる数"],
    )


def _return_form(found: OrderForReturn) -> None:
    choices = [x for x in found.lines if x.returnable > 0 and x.sku]
    if not choices:
        st.info(
            "この注文には返品できる明細がありません（出荷した数がすべて返品済みです）。",
            icon=":material/info:",
        )
        return
    with st.form("returns_form"):
        chosen = st.selectbox(
            "返品する明細",
            choices,
            format_func=lambda x: f"明細 {x.line_number}: {x.sku} {x.name}（返品できる数 {x.returnable}）",
            key="returns_line",
        )
        units_col, kind_col = st.columns(2)
        units = units_col.number_input("返品数", min_value=1, step=1, value=1, key="returns_units")
        disposition = kind_col.radio(
            "扱い",
            [GOOD, DEFECTIVE],
            horizontal=True,
            key="returns_disposition",
            help="良品は実在庫に戻して販売します。不良は不良在庫に入れ、販売しません。",
        )
        reason = st.text_input("理由（必須）", placeholder="例: サイズ違い、初期不良", key="returns_reason")
        note = st.text_input("メモ", key="returns_note")
        if st.form_submit_button("返品を登録する", type="primary", icon=":material/assignment_return:"):
            _register(found, chosen, int(units), str(disposition), reason, note)
            st.rerun()


def _register(
    shown: OrderForReturn, line: ReturnableLine, units: int, disposition: str, reason: str, note: str
) -> None:
    with st.spinner("返品を登録し、在庫に反映しています…"):
        try:
            fresh = find_order(context.workbook(), shown.number, shown.mall)
        except WorkbookError as exc:
            FLASH.add("error", f"読み込めませんでした: {exc}")
            return
        result = register_return(
            fresh,
            line.line_number,
            line.sku or "",
            units,
            disposition=disposition,
            reason=reason,
            note=note,
            seen_returned=line.returned,
            now=datetime.now(JST),
        )
        st.session_state.pop(FOUND, None)  # drawn afresh either way
        if result.refused:
            refused(FLASH, result.refused)
            return
        if not write(result.job, FLASH, "返品"):
            return
        FLASH.add(
            "success",
            f"注文番号 {shown.number} の明細 {line.line_number}（{line.sku}）に {units} 個の返品（{disposition}）を登録しました。",
        )
        settle(FLASH)
    st.session_state.pop(DEFECTIVE_SHOWN, None)


# -- 不良在庫


def _ledger_shown() -> tuple[LedgerNow, dict[str, Product]] | None:
    shown = st.session_state.get(DEFECTIVE_SHOWN)
    if shown is None:
        try:
            ledger, grids = read_ledger_now(context.workbook(), [PRODUCTS.title])
        except WorkbookError as exc:
            st.error(f"読み込めませんでした: {escape_markdown(exc)}", icon=":material/error:")
            return None
        grid = grids.get(PRODUCTS.title)
        products = {p.sku: p for p in parse_grid(PRODUCTS, grid).models()} if grid is not None else {}
        shown = (ledger, products)
        st.session_state[DEFECTIVE_SHOWN] = shown
    return shown


def _defective_section(role: auth.Role) -> None:
    head, refresh = st.columns([5, 1], vertical_alignment="bottom")
    head.markdown("**不良在庫**")
    if refresh.button(
        "最新にする", key="returns_defective_refresh", icon=":material/refresh:", width="stretch"
    ):
        st.session_state.pop(DEFECTIVE_SHOWN, None)
    shown = _ledger_shown()
    if shown is None:
        return
    ledger, products = shown
    rows = [
        {
            "SKU": sku,
            "商品名": products[sku].name if sku in products else "",
            "不良在庫": n,
            "実在庫": ledger.on_hand[sku],
        }
        for sku, n in sorted(ledger.defective.items())
        if n
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.caption("不良在庫はありません。")
    if auth.require(role, "編集", "不良在庫の処分・振替"):
        _defective_form(ledger, products)


def _defective_form(ledger: LedgerNow, products: dict[str, Product]) -> None:
    token = st.session_state.setdefault(TOKEN, uuid.uuid4().hex[:12])
    with st.form("returns_defective_form"):
        kind = st.radio(
            "処理",
            [DISPOSE, MARK],
            horizontal=True,
            key="returns_defective_kind",
            captions=["不良在庫を廃棄・仕入先へ返送", "売り場の在庫に不良を見つけた（実在庫 → 不良在庫）"],
        )
        sku = st.selectbox(
            "SKU",
            sorted(products),
            index=None,
            placeholder="選んでください",
            format_func=lambda s: (
                f"{s} {products[s].name}（不良在庫 {ledger.defective[s]}・実在庫 {ledger.on_hand[s]}）"
            ),
            key="returns_defective_sku",
        )
        units = st.number_input("数量", min_value=1, step=1, value=1, key="returns_defective_units")
        reason = st.text_input("理由（必須）", key="returns_defective_reason")
        if st.form_submit_button("登録する", type="primary", icon=":material/inventory:"):
            if sku is None:
                st.warning("SKU を選んでください。")
                return
            _move(ledger, products, str(kind), sku, int(units), reason, token)
            st.rerun()


def _move(
    shown: LedgerNow, products: dict[str, Any], kind: str, sku: str, units: int, reason: str, token: str
) -> None:
    with st.spinner(f"{kind}を登録し、在庫に反映しています…"):
        try:
            fresh, _ = read_ledger_now(context.workbook())
        except WorkbookError as exc:
            FLASH.add("error", f"読み込めませんでした: {exc}")
            return
        result = move_defective(
            fresh,
            products,
            kind,
            sku,
            units,
            reason=reason,
            seen_defective=shown.defective[sku],
            token=token,
            now=datetime.now(JST),
        )
        st.session_state.pop(DEFECTIVE_SHOWN, None)
        if result.refused:
            refused(FLASH, result.refused)
            return
        if not write(result.job, FLASH, kind):
            return
        st.session_state.pop(TOKEN, None)  # the next form is another action
        FLASH.add("success", f"SKU {sku} の{kind}を {units} 個登録しました。")
        settle(FLASH)
