"""The 受注ボード's writes and their messages: a bulk status change, mapping an unknown SKU,
settling either into the stock ledger with ``run_once(fetch=False)``, and the flash messages
shown at the top of the next run."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.errors import CellConflict, WorkbookError
from sheets_schema.tabs import MALL_LISTINGS, ORDERS, PRODUCTS
from shop.orders import bulk_change, page_text
from shop.orders.board import Board
from shop.orders.frame import OrderKey
from shop.orders.unknown_skus import UnknownItem, map_unknown_sku
from sync.errors import LeaseHeld, SyncError
from ui import context
from vocabulary.text import escape_markdown

FLASH = "orders_flash"
SHOWN = "orders_shown_statuses"  # {order key: ステータス} as last drawn for the selection


def flash(level: str, message: str, *, markdown: bool = False) -> None:
    """A message for the top of the next run. It is plain text (order numbers, mall codes and
    cell values in it are shown as typed) unless ``markdown``: then it is already escaped."""
    st.session_state.setdefault(FLASH, []).append((level, message if markdown else escape_markdown(message)))


def show_flash() -> None:
    """Messages of the action that just ran, at the top; a toast too, for staff scrolled down."""
    messages = st.session_state.pop(FLASH, [])
    for level, message in messages:
        show = {"success": st.success, "warning": st.warning, "error": st.error}.get(level, st.info)
        show(message, icon={"success": ":material/check_circle:", "error": ":material/error:"}.get(level))
    if messages:
        level, message = messages[0]
        st.toast(message, icon=":material/check_circle:" if level == "success" else ":material/info:")


def settle() -> None:
    """Bring the ledger and 在庫 in line with what was just written, without asking the malls."""
    try:
        report = context.sync_engine().run_once(fetch=False)
    except LeaseHeld:
        flash("warning", "ちょうど別の同期が実行中のため、在庫への反映はその次の同期で行われます。")
        return
    except (SyncError, WorkbookError) as exc:
        flash("warning", f"在庫への反映ができませんでした（{exc}）。次の同期でもう一度反映します。")
        return
    except Exception as exc:  # a mall's settings or connector: never a traceback for staff
        flash(
            "warning",
            f"在庫への反映ができませんでした（{exc.__class__.__name__}）。同期ページで状態を確かめてください。",
        )
        return
    finally:
        context.after_write()
    failed = sum(1 for p in report.pushes if not p.ok)
    flash("success" if not failed else "warning", page_text.settled_message(report.movements, failed))


def shown_statuses(board: Board, keys: list[OrderKey]) -> dict[OrderKey, str]:
    """The ステータス the person saw for these orders: what the previous run of this page drew
    (a rerun for the button click may already have read a newer workbook), else this run's."""
    before = st.session_state.get(SHOWN, {})
    return {k: before.get(k, board.orders[k].status) for k in keys if k in before or k in board.orders}


def change_status(
    board: Board, keys: list[OrderKey], status: str, reason: str, shown: dict[OrderKey, str]
) -> None:
    with st.spinner("ステータスを書き込み、在庫に反映しています…"):
        try:
            fresh = read_tables(context.workbook(), [ORDERS])[ORDERS.title]
            change = bulk_change.change_status(
                fresh,
                keys,
                status,
                reason=reason,
                now=datetime.now(JST),
                blocked=board.blocked,
                loaded=shown,
            )
            if change.job:
                context.write(change.job)
        except CellConflict as exc:
            context.after_write()
            flash("error", page_text.conflict_message(exc))
            return
        except WorkbookError as exc:
            flash("error", f"書き込めませんでした: {exc}")
            return
        if change.changed:
            flash("success", change.summary())
            settle()
        if change.unchanged:
            flash("info", page_text.unchanged_message(change.unchanged, status))
        if change.refused:
            flash("warning", page_text.refused_markdown(change.refused), markdown=True)


def map_sku(item: UnknownItem, sku: str) -> None:
    with st.spinner("対応付けを書き込み、在庫を引き当てています…"):
        try:
            fresh = read_tables(context.workbook(), [MALL_LISTINGS, PRODUCTS])
            mapping = map_unknown_sku(
                fresh[MALL_LISTINGS.title],
                fresh[PRODUCTS.title],
                item.mall,
                item.mall_item_code,
                item.mall_sku,
                sku,
            )
            if not mapping.ok:
                flash("warning", mapping.message)
                return
            if mapping.job:
                context.write(mapping.job)
        except WorkbookError as exc:
            flash("error", f"書き込めませんでした: {exc}")
            return
        flash("success", f"{mapping.message}。{len(item.orders)} 件の注文の「SKU不明」が解消されます。")
        settle()
