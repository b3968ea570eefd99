"""入荷 on the 発注・入荷 page: against a 発注 (counts typed, or scanned with a USB barcode
scanner: each scan of a JAN adds one), or without one; then the ledger is settled so 在庫 and the
malls show the goods at once."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

import pandas as pd
import streamlit as st

from purchasing import screen
from purchasing.reading import PurchasingTables, read_purchasing
from purchasing.receiving import Receipt, find_product, receive, receive_unordered
from sheets_schema.cells import JST
from sheets_schema.errors import CellConflict, StaleWorkbookError, WorkbookError
from ui import context
from ui.order_actions import flash, settle

SCANS = "po_scans"  # {発注番号: Counter(SKU -> units scanned)}
TOKEN = "po_unordered_token"


def receive_tab(tables: PurchasingTables) -> None:
    waiting = [o for o in tables.orders.models() if o.status in ("発注済", "一部入荷")]
    names = {p.sku: p.name for p in tables.products.models()}
    products = {p.sku: p for p in tables.products.models()}
    if waiting:
        labels = {f"{o.number}（{o.supplier}・{o.status}）": o.number for o in waiting}
        number = labels[st.selectbox("入荷する発注", list(labels), key="po_receive_order")]
        _scanner(number, products)
        scanned: Counter[str] = st.session_state.get(SCANS, {}).get(number, Counter())
        rows = screen.receiving_rows([x for x in tables.lines.models() if x.number == number], names)
        if scanned:
            for row in rows:
                row["今回の入荷"] = scanned.get(row["SKU"], 0)
        edited = st.data_editor(
            pd.DataFrame(rows),
            hide_index=True,
            width="stretch",
            key=f"po_receive_lines_{number}_{sum(scanned.values())}",
            disabled=["明細番号", "SKU", "商品名", "発注数", "入荷済"],
            column_config={"今回の入荷": st.column_config.NumberColumn("今回の入荷", min_value=0, step=1)},
        )
        reason = st.text_input("理由（発注数より多いとき・不足のまま完了するとき）", key="po_receive_reason")
        close_short = st.checkbox(
            "不足があってもこの発注を入荷済にする（残りは届かない）", key="po_close_short"
        )
        if st.button("入荷を登録", type="primary", key="po_receive"):
            counts = {int(r["明細番号"]): int(r["今回の入荷"] or 0) for _, r in edited.iterrows()}
            seen = {int(r["明細番号"]): int(r["入荷済"] or 0) for r in rows}  # as staff saw them
            _record(
                lambda t: receive(
                    t.orders,
                    t.lines,
                    t.ledger,
                    number,
                    counts,
                    reason=reason,
                    close_short=close_short,
                    seen_received=seen,
                    now=datetime.now(JST),
                )
            )
            st.session_state.get(SCANS, {}).pop(number, None)
            st.rerun()
    else:
        st.info("入荷待ちの発注（発注済・一部入荷）はありません。", icon=":material/info:")
    with st.expander("発注なしの入荷（サンプル・交換品・見つかった在庫など）"):
        _unordered(products)


def _scanner(number: str, products: dict) -> None:
    """A text field the scanner types into (it ends with Enter): each scan adds one unit."""

    def scanned() -> None:
        code = st.session_state.get("po_scan", "")
        st.session_state["po_scan"] = ""
        product = find_product(products, code)
        if product is None:
            st.session_state["po_scan_error"] = (
                f"「{code.strip()}」に当たる商品がありません（JANコードかSKUを読み取ってください）"
            )
            return
        st.session_state.pop("po_scan_error", None)
        st.session_state.setdefault(SCANS, {}).setdefault(number, Counter())[product.sku] += 1
        st.session_state["po_scan_last"] = f"{product.name}（{product.sku}）＋1"

    st.text_input(
        "バーコードを読み取る（JANコードかSKU。読み取るたびに1個ずつ加わります）",
        key="po_scan",
        on_change=scanned,
    )
    if "po_scan_error" in st.session_state:
        st.error(st.session_state["po_scan_error"], icon=":material/error:")
    elif "po_scan_last" in st.session_state:
        st.caption(st.session_state["po_scan_last"])


def _unordered(products: dict) -> None:
    token = st.session_state.setdefault(TOKEN, uuid.uuid4().hex[:12])
    sku = st.selectbox(
        "商品", sorted(products), format_func=lambda s: f"{s}  {products[s].name}", key="po_free_sku"
    )
    units = int(st.number_input("数量", min_value=1, value=1, step=1, key="po_free_units"))
    reason = st.text_input("理由", key="po_free_reason")
    if st.button("入荷を登録", key="po_free_receive"):
        _record(
            lambda t: receive_unordered(
                t.ledger,
                t.known_ids(),
                products,
                sku,
                units,
                reason=reason,
                token=token,
                now=datetime.now(JST),
            )
        )
        st.session_state[TOKEN] = uuid.uuid4().hex[:12]  # the next form is another receipt
        st.rerun()


def _record(build) -> None:  # type: ignore[no-untyped-def]
    """Read fresh, build the receipt, write it as one job, then settle the ledger."""
    try:
        receipt: Receipt = build(read_purchasing(context.workbook()))
        if receipt.refused:
            for problem in receipt.refused:
                flash("error", problem)
            return
        context.write(receipt.job)
        flash(
            "success",
            f"入荷を登録しました（{len(receipt.movements)} 商品・{receipt.units} 個、発注は「{receipt.status}」）。",
        )
    except (CellConflict, StaleWorkbookError):
        flash(
            "error",
            "この入荷は、画面を開いた後に別の操作で変わりました（すでに登録済みかもしれません）。最新の状態を確かめてください。",
        )
        return
    except WorkbookError as exc:
        flash("error", f"入荷を登録できませんでした（{exc}）。もう一度お試しください。")
        return
    settle()
