"""発注一覧 on the 発注・入荷 page: every 発注 with its totals, one 発注's lines, and moving a
下書き to 発注済 or cancelling it (each cell expected as read: a change made meanwhile stops the
job)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from purchasing import purchase_orders as po
from purchasing import screen
from purchasing.reading import PurchasingTables, read_purchasing
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import CellConflict, StaleWorkbookError, WorkbookError
from shop.orders import page_text
from ui import auth, context
from ui.order_actions import flash

# Which status a person may move a 発注 to, from which (入荷 statuses come from receiving).
MOVES = {"発注済": ("下書き",), "キャンセル": ("下書き", "発注済")}


def orders_tab(tables: PurchasingTables) -> str | None:
    """The list, and the 発注番号 chosen in it (None: none chosen)."""
    orders, lines = tables.orders.models(), tables.lines.models()
    if not orders:
        st.info("発注はまだありません。「発注提案」から下書きを作れます。", icon=":material/info:")
        return None
    frame = pd.DataFrame(screen.order_rows(orders, lines))
    picked = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(frame), 420),
        on_select="rerun",
        selection_mode="single-row",
        key="po_list",
        column_config={"金額": st.column_config.NumberColumn("金額", format="¥%,d")},
    )
    rows = picked.selection.rows if picked and picked.selection else []
    if not rows:
        st.caption("行の左端をクリックすると、その発注の明細と操作が表示されます。")
        return None
    number = str(frame.iloc[rows[0]]["発注番号"])
    order = next(o for o in orders if o.number == number)
    names = {p.sku: p.name for p in tables.products.models()}
    its = [line for line in lines if line.number == number]
    st.subheader(f"発注 {number}（{order.supplier}・{order.status}）")
    st.dataframe(
        pd.DataFrame(screen.receiving_rows(its, names)).drop(columns=["今回の入荷"]), hide_index=True
    )
    if order.note:
        st.text(f"備考: {order.note}")
    if auth.can(context.role(), "編集"):
        moves = [status for status, sources in MOVES.items() if order.status in sources]
        for column, status in zip(st.columns(len(moves) or 1), moves, strict=False):
            if column.button(f"「{status}」にする", key=f"po_move_{status}"):
                _move(number, order.status, status)
    return number


def _move(number: str, shown: str, status: str) -> None:
    try:
        fresh = read_purchasing(context.workbook())
        row = fresh.orders.find_row((number,))
        if row is None:
            flash("error", f"発注「{number}」が発注シートに見つかりません。")
        else:
            job = WriteJob()
            job.expect(fresh.orders, row, {"ステータス": shown})
            job.set(fresh.orders, row, {"ステータス": status, "更新日時": datetime.now(JST)})
            context.write(job)
            flash("success", f"発注「{number}」を「{status}」にしました。")
    except CellConflict as exc:
        flash("error", page_text.conflict_message(exc))
    except (StaleWorkbookError, WorkbookError) as exc:
        flash("error", f"書き込めませんでした（{exc}）。もう一度お試しください。")
    st.rerun()


def expected_arrivals(tables: PurchasingTables) -> None:
    """入荷予定 under 在庫: what open 発注 will bring, per SKU, soonest first."""
    names = {p.sku: p.name for p in tables.products.models()}
    rows = [
        {
            "SKU": sku,
            "商品名": names.get(sku, ""),
            "入荷予定日": expected.isoformat() if expected else "未定",
            "数量": units,
            "発注番号": number,
        }
        for sku, arrivals in sorted(po.expected_arrivals(tables.orders, tables.lines).items())
        for expected, units, number in arrivals
    ]
    if rows:
        st.subheader(f"入荷予定（{len(rows)} 件）")
        st.dataframe(
            pd.DataFrame(rows), hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 300)
        )
