"""受注ボード: counts per status, the order list with filters, a bulk status change, one order's
detail, and the 要確認 queue where an unknown SKU is mapped in one click.

The board (a DataFrame of every order plus indexes) is built once per workbook read through
``context.derived``; a rerun only filters it. Writes go through ``context.write`` and are then
settled into the stock ledger with ``run_once(fetch=False)``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import streamlit as st

from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.errors import CellConflict, WorkbookError
from sheets_schema.models import ORDER_STATUSES
from sheets_schema.tabs import MALL_LISTINGS, ORDERS, PRODUCTS
from shop import orders_board as ob
from sync.errors import LeaseHeld, SyncError
from ui import archive, auth, context
from vocabulary.text import escape_markdown

LIST_LIMIT = 1_000  # rows sent to the browser; filters find the rest
# Up to this many orders, an order's detail loads the ledger (在庫移動) and 同期ログ at once;
# above it, on request: parsing a large ledger takes seconds after each workbook read.
AUTO_HISTORY_ORDERS = 5_000
QUEUE_LIMIT = 500
UNKNOWN_LIMIT = 20
FLASH = "orders_flash"
SHOWN = "orders_shown_statuses"  # {order key: ステータス} as last drawn for the selection

snapshot = context.snapshot()
board: ob.Board = context.derived("orders_board", ob.build_board)
role = context.role()
can_edit = auth.can(role, "編集")
masked = not can_edit  # 閲覧: names are masked everywhere on this page


def _key(*parts: Any) -> str:
    return hashlib.md5(repr(parts).encode()).hexdigest()[:10]


def _md(text: str) -> str:
    """Shop data shown in markdown as typed: no accidental bold, links, images or headings."""
    return escape_markdown(text)


def _flash(level: str, message: str, *, markdown: bool = False) -> None:
    """A message for the top of the next run. It is plain text (order numbers, mall codes and
    cell values in it are shown as typed) unless ``markdown``: then it is already escaped."""
    st.session_state.setdefault(FLASH, []).append((level, message if markdown else _md(message)))


def _show_flash() -> None:
    """Messages of the action that just ran, at the top; a toast too, for staff scrolled down."""
    messages = st.session_state.pop(FLASH, [])
    for level, message in messages:
        show = {"success": st.success, "warning": st.warning, "error": st.error}.get(level, st.info)
        show(message, icon={"success": ":material/check_circle:", "error": ":material/error:"}.get(level))
    if messages:
        level, message = messages[0]
        st.toast(message, icon=":material/check_circle:" if level == "success" else ":material/info:")


def _settle() -> None:
    """Bring the ledger and 在庫 in line with what was just written, without asking the malls."""
    try:
        report = context.sync_engine().run_once(fetch=False)
    except LeaseHeld:
        _flash("warning", "ちょうど別の同期が実行中のため、在庫への反映はその次の同期で行われます。")
        return
    except (SyncError, WorkbookError) as exc:
        _flash("warning", f"在庫への反映ができませんでした（{exc}）。次の同期でもう一度反映します。")
        return
    except Exception as exc:  # a mall's settings or connector: never a traceback for staff
        _flash(
            "warning",
            f"在庫への反映ができませんでした（{exc.__class__.__name__}）。同期ページで状態を確かめてください。",
        )
        return
    finally:
        context.after_write()
    failed = sum(1 for p in report.pushes if not p.ok)
    message = f"在庫に反映しました（在庫移動 {report.movements} 件を記録）。"
    if failed:
        message += f" モールへの在庫送信 {failed} 件が失敗しました。同期ページで確かめてください。"
    _flash("success" if not failed else "warning", message)


def _shown_statuses(keys: list[ob.OrderKey]) -> dict[ob.OrderKey, str]:
    """The ステータス the person saw for these orders: what the previous run of this page drew
    (a rerun for the button click may already have read a newer workbook), else this run's."""
    before = st.session_state.get(SHOWN, {})
    return {k: before.get(k, board.orders[k].status) for k in keys if k in before or k in board.orders}


def _change_status(keys: list[ob.OrderKey], status: str, reason: str, shown: dict[ob.OrderKey, str]) -> None:
    with st.spinner("ステータスを書き込み、在庫に反映しています…"):
        try:
            fresh = read_tables(context.workbook(), [ORDERS])[ORDERS.title]
            change = ob.change_status(
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
            _flash(
                "error",
                f"ほかの人（または同期）が、画面を読み込んだ後に「{exc.tab}」シート {exc.row}行目の"
                f"「{exc.column}」列を変更しました（読み込んだときは「{exc.loaded or '（空欄）'}」、"
                f"今は「{exc.now or '（空欄）'}」）。上書きしないよう、どの注文も変更していません。"
                "最新の状態を確かめてから、もう一度選んでください。",
            )
            return
        except WorkbookError as exc:
            _flash("error", f"書き込めませんでした: {exc}")
            return
        if change.changed:
            _flash("success", change.summary())
            _settle()
        if change.unchanged:
            numbers = "、".join(n for _, n in change.unchanged[:5])
            _flash(
                "info", f"{len(change.unchanged)} 件はすでに「{status}」なので変更していません（{numbers}）。"
            )
        if change.refused:
            _flash(
                "warning",
                "変更しなかった注文があります:\n\n" + "\n".join(f"- {_md(r)}" for r in change.refused),
                markdown=True,
            )


def _map_sku(item: ob.UnknownItem, sku: str) -> None:
    with st.spinner("対応付けを書き込み、在庫を引き当てています…"):
        try:
            fresh = read_tables(context.workbook(), [MALL_LISTINGS, PRODUCTS])
            mapping = ob.map_unknown_sku(
                fresh[MALL_LISTINGS.title],
                fresh[PRODUCTS.title],
                item.mall,
                item.mall_item_code,
                item.mall_sku,
                sku,
            )
            if not mapping.ok:
                _flash("warning", mapping.message)
                return
            if mapping.job:
                context.write(mapping.job)
        except WorkbookError as exc:
            _flash("error", f"書き込めませんでした: {exc}")
            return
        _flash("success", f"{mapping.message}。{len(item.orders)} 件の注文の「SKU不明」が解消されます。")
        _settle()


# -- header and the board of counts

st.title("受注ボード")
if masked:
    st.caption("閲覧権限のため、お客様の氏名は一部を伏せて表示しています。")
_show_flash()

if board.frame.empty and not board.input_errors:
    st.info(
        "まだ注文がありません。「同期」ページで「今すぐ同期」を押すと、各モールの注文を取り込みます。",
        icon=":material/inbox:",
    )
    st.page_link("pages/sync.py", label="同期ページを開く", icon=":material/sync:")
    st.stop()

counts = ob.status_counts(board.frame)
for column, (status, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
    column.metric(status, f"{count:,}", border=True, help=f"ステータスが「{status}」の注文の件数")

review_label = f"要確認（{board.queue_orders:,} 件）"
list_tab, queue_tab = st.tabs(["受注一覧", f"**{review_label}**" if board.queue_orders else review_label])

# -- the order list

with list_tab:
    statuses = st.pills(
        "ステータスで絞り込み（複数選べます）",
        ORDER_STATUSES,
        selection_mode="multi",
        format_func=lambda s: f"{s} {counts[s]:,}",
        key="orders_status",
    )
    mall_col, period_col, search_col = st.columns([3, 2, 4])
    malls = mall_col.multiselect("モール", board.malls, placeholder="すべてのモール", key="orders_malls")
    period = period_col.selectbox("注文日", ob.PERIODS, key="orders_period")
    today = datetime.now(JST).date()
    custom: Any = ()
    if period == "期間を指定":
        custom = period_col.date_input(
            "期間", value=(today.replace(day=1), today), format="YYYY/MM/DD", key="orders_dates"
        )
    start, end = ob.period_range(period, today, custom if isinstance(custom, (tuple, list)) else (custom,))
    text = search_col.text_input(
        "検索", placeholder="注文番号・購入者名・SKU で検索", key="orders_search", icon=":material/search:"
    )

    filters = {
        "statuses": statuses,
        "malls": malls,
        "start": start,
        "end": end,
        "text": text,
        "masked": masked,
    }
    filtered = ob.filter_orders(board.frame, **filters)
    # A search also looks in the archive (closed orders moved out of the workbook): the same
    # filters and masking, read-only, marked 履歴.
    found = archive.search_orders(text, board.products)
    from_archive = ob.filter_orders(found.frame, **filters) if found is not None else filtered.iloc[:0]
    listed = ob.with_archived(filtered, from_archive)
    view = ob.list_view(listed, masked=masked, limit=LIST_LIMIT)
    keys = ob.keys_of(view)
    archived = ob.archived_keys(listed.head(LIST_LIMIT))
    if len(listed) > LIST_LIMIT:
        st.caption(
            f"条件に合う注文 {len(listed):,} 件のうち、新しい順に {LIST_LIMIT:,} 件を表示しています。"
            "期間や検索で絞り込んでください。"
        )
    else:
        st.caption(f"{len(filtered):,} 件（全 {len(board.frame):,} 件）。行の左端をクリックすると選べます。")
    if len(from_archive):
        more = "（新しい順に最大 " + f"{ob.ARCHIVE_SEARCH_LIMIT:,} 件）" if found is not None else ""
        st.caption(
            f"ほかに履歴データベースの注文 {len(from_archive):,} 件{more}が見つかりました（「{ob.ARCHIVED}」の印。"
            "表示のみで、ステータスは変えられません）。"
        )
    elif archive.archive() is not None and not text.strip():
        st.caption("出荷・キャンセルから日がたった注文は履歴データベースにあり、検索すると見つかります。")

    selected: list[ob.OrderKey] = []
    if view.empty:
        st.info("条件に合う注文がありません。絞り込みを外すか、検索する言葉を変えてください。")
    else:
        # The key follows the read and the filters: a selection never points at other rows.
        signature = _key(snapshot.read_at.isoformat(), statuses, malls, start, end, text, masked)
        event = st.dataframe(
            view,
            key=f"orders_table_{signature}",
            on_select="rerun",
            selection_mode="multi-row",
            hide_index=True,
            height=318,
            column_config={
                "モール": st.column_config.TextColumn("モール", width=62),
                "注文番号": st.column_config.TextColumn("注文番号", width=176),
                "注文日時": st.column_config.DatetimeColumn("注文日時", format="YYYY-MM-DD HH:mm", width=114),
                "ステータス": st.column_config.TextColumn("ステータス", width=80),
                "購入者名": st.column_config.TextColumn("購入者名", width=86),
                "SKU": st.column_config.TextColumn("SKU", width=108),
                "合計金額": st.column_config.NumberColumn("合計金額", format="¥%,d", width=78),
                "送料": st.column_config.NumberColumn("送料", format="¥%,d", width=54),
                "要確認": st.column_config.TextColumn(
                    "要確認", width=118, help="要確認タブに載っている理由の種類です。詳しくは注文の詳細で"
                ),
                ob.ARCHIVED: st.column_config.TextColumn(
                    ob.ARCHIVED, width=44, help="履歴データベースへ移した注文です（表示のみ）"
                ),
            },
        )
        selected = [keys[i] for i in event.selection.rows if i < len(keys)]

    if not selected and not view.empty:
        st.caption("注文を選ぶと、ここに詳細と（編集権限があれば）ステータスの一括変更が表示されます。")

    if selected:
        with st.container(border=True):
            numbers = "、".join(n for _, n in selected[:4]) + (
                f" ほか{len(selected) - 4}件" if len(selected) > 4 else ""
            )
            st.markdown(f"**選択中の注文 {len(selected)} 件**: {_md(numbers)}")
            changeable = [k for k in selected if k not in archived]
            if len(changeable) < len(selected):
                st.caption(
                    f"「{ob.ARCHIVED}」の注文 {len(selected) - len(changeable)} 件は履歴データベースの記録のため、"
                    "ステータスは変えられません。"
                )
            if changeable and auth.require(role, "編集", "ステータスの変更"):
                new_col, reason_col, button_col = st.columns([2, 3, 2], vertical_alignment="bottom")
                new_status = new_col.selectbox(
                    "新しいステータス",
                    ORDER_STATUSES,
                    index=None,
                    placeholder="選んでください",
                    key="bulk_status",
                )
                reason = ""
                if new_status == "保留":
                    reason = reason_col.text_input(
                        "保留の理由（必須）", placeholder="例: 住所の番地を購入者に確認中", key="bulk_reason"
                    )
                if button_col.button(
                    "ステータスを変更する",
                    type="primary",
                    icon=":material/published_with_changes:",
                    disabled=new_status is None,
                    key="bulk_apply",
                    width="stretch",
                ):
                    if new_status == "保留" and not reason.strip():
                        st.warning("保留にする理由を入力してください（備考に記録されます）。")
                    else:
                        _change_status(changeable, str(new_status), reason, _shown_statuses(changeable))
                        st.session_state.pop(SHOWN, None)
                        st.rerun()
            # What this run drew: the statuses a click on the next run was made against.
            st.session_state[SHOWN] = {k: board.orders[k].status for k in selected if k in board.orders}

        target = selected[0]
        if len(selected) > 1:
            target = st.selectbox(
                "詳細を表示する注文",
                selected,
                format_func=lambda k: f"{k[1]}（{k[0]}）",
                key=f"orders_detail_{_key(selected)}",
            )
        reveal = False
        detail_head, ledger_col, toggle_col = st.columns([5, 2, 2], vertical_alignment="bottom")
        with_ledger = ledger_col.toggle(
            "在庫の記録も表示",
            value=len(board.frame) <= AUTO_HISTORY_ORDERS,
            key="orders_ledger",
            help="在庫移動と同期ログから、引当・出荷の記録を履歴に加えます（大きなワークブックでは数秒かかります）",
        )
        if can_edit:
            reveal = toggle_col.toggle("個人情報を表示", key="orders_reveal")
        history: ob.History | None = None
        source = board
        if target in archived and found is not None:
            # One archived order: its rows, movements and sync runs come from the archive.
            source, history = found, archive.order_history(target)
        elif with_ledger:
            with st.spinner("在庫移動と同期ログを読み込んでいます…"):
                history = context.derived("orders_history", ob.build_history)
        detail = ob.order_detail(source, target, history=history, reveal=reveal, mask_names=masked)
        if detail is not None:
            mark = f"・{ob.ARCHIVED}" if source.archived else ""
            detail_head.subheader(f"注文 {_md(detail.order_number)}（{_md(detail.mall)}{mark}）")
            if source.archived:
                st.info("履歴データベースへ移した注文です（表示のみ）。", icon=":material/inventory_2:")
            if detail.blocked:
                st.error(
                    "この注文の受注明細に入力エラーがあります。シートを直すまで同期でも在庫でも扱われません。",
                    icon=":material/error:",
                )
            info_col, amount_col = st.columns([3, 2])
            mall_status = f"（モール: {_md(detail.mall_status)}）" if detail.mall_status else ""
            allocation = "" if detail.allocates_stock else "　※モールが出荷するため自社在庫は引き当てません"
            info_col.markdown(
                f"**注文日時** {_md(detail.ordered_at)}　**ステータス** {_md(detail.status)}{mall_status}  \n"
                f"**支払方法** {_md(detail.payment_method or '—')}{allocation}  \n"
                f"**購入者** {_md(detail.buyer_name or '—')}　**送付先** {_md(detail.recipient_name or '—')}  \n"
                f"**住所** 〒{_md(detail.postcode or '—')} {_md(detail.address or '（なし）')}  \n"
                f"**電話番号** {_md(detail.phone or '—')}"
            )
            amount_col.markdown(
                f"**商品合計** {ob.yen(detail.items_total)}　**送料** {ob.yen(detail.shipping_fee)}  \n"
                f"**合計金額** {ob.yen(detail.total)}"
            )
            if detail.difference:
                amount_col.caption(
                    f"合計金額との差 {ob.yen(detail.difference)}（ポイント・クーポン・手数料など）"
                    if detail.difference > 0
                    else f"合計金額との差 −{ob.yen(-detail.difference)}（ポイント・クーポンの値引きなど）"
                )
            st.dataframe(
                detail.lines,
                hide_index=True,
                column_config={
                    "明細": st.column_config.NumberColumn("明細", width=50),
                    "数量": st.column_config.NumberColumn("数量", width=50),
                    "単価": st.column_config.NumberColumn("単価", format="¥%,d", width=80),
                    "小計": st.column_config.NumberColumn("小計", format="¥%,d", width=90),
                },
            )
            for note in detail.review:
                st.warning(_md(note), icon=":material/report:")
            if detail.notes:
                st.info(
                    "**備考**  \n" + "  \n".join(_md(n) for n in detail.notes),
                    icon=":material/sticky_note_2:",
                )
            with st.expander(f"履歴（{len(detail.history)} 件）", icon=":material/history:"):
                st.dataframe(
                    detail.history,
                    hide_index=True,
                    column_config={"日時": st.column_config.TextColumn("日時", width=130)},
                )

# -- the 要確認 queue

with queue_tab:
    if board.unknown_items:
        st.subheader("SKUが分からない商品")
        st.caption(
            "モールの商品コードが「モール商品」シートのどのSKUにも対応付けられていません。"
            "SKUを選んで対応付けると、その商品を含む注文すべてに在庫が引き当てられます。"
        )
        editable = auth.require(role, "編集", "SKUの対応付け")
        product_skus = sorted(board.products)
        for item in board.unknown_items[:UNKNOWN_LIMIT]:
            ident = _key(item.mall, item.mall_item_code, item.mall_sku)
            with st.container(border=True):
                about_col, pick_col, button_col = st.columns([4, 3, 2], vertical_alignment="center")
                mall_sku = f"／モールSKU「{_md(item.mall_sku)}」" if item.mall_sku else ""
                more = " ほか" if len(item.orders) > 2 else ""
                about_col.markdown(
                    f"**{_md(item.mall)}**　「{_md(item.name or '（商品名なし）')}」  \n"
                    f"商品コード「{_md(item.mall_item_code)}」{mall_sku}  \n"
                    f":small[注文 {len(item.orders)} 件・{item.units} 点（{_md('、'.join(item.orders[:2]))}{more}）]"
                )
                if editable:
                    suggested = ob.suggest_skus(item.name, board.products)
                    options = suggested + [s for s in product_skus if s not in suggested]
                    sku = pick_col.selectbox(
                        "対応付けるSKU",
                        options,
                        index=None,
                        placeholder="SKUを選んでください",
                        format_func=lambda s, hint=tuple(suggested): (
                            f"{'★ ' if s in hint else ''}{s}　{board.products.get(s, '')}"
                        ),
                        help="★ は商品名が近い候補です",
                        key=f"map_sku_{ident}",
                    )
                    if button_col.button(
                        "このSKUに対応付ける",
                        type="primary",
                        disabled=sku is None,
                        key=f"map_apply_{ident}",
                        width="stretch",
                    ):
                        _map_sku(item, str(sku))
                        st.rerun()
        if len(board.unknown_items) > UNKNOWN_LIMIT:
            st.caption(
                f"ほかに {len(board.unknown_items) - UNKNOWN_LIMIT} 件あります。上から順に対応付けてください。"
            )

    if not board.queue:
        st.success("確認が必要な注文はありません。", icon=":material/task_alt:")
    else:
        st.subheader("確認が必要な注文")
        st.caption(
            f"{board.queue_orders:,} 件の注文に {len(board.queue):,} 件の確認事項があります。"
            "注文番号で受注一覧を検索すると、詳細の確認とステータスの変更ができます。"
        )
        groups: dict[str, list[ob.QueueItem]] = {}
        for entry in board.queue:
            groups.setdefault(entry.kind, []).append(entry)
        for kind, entries in groups.items():
            urgent = kind in ("入力エラー", "取込エラー", "SKU不明", "ステータスの食い違い")
            with st.expander(f"{kind}（{len(entries):,} 件）", expanded=urgent and len(groups) <= 4):
                actions = list(dict.fromkeys(e.action for e in entries))
                st.markdown("**対応**  \n" + "  \n".join(f"・{_md(a)}" for a in actions[:6]))
                shown = ob.queue_frame(entries, QUEUE_LIMIT)
                if len(entries) > QUEUE_LIMIT:
                    st.caption(f"新しい順に {QUEUE_LIMIT:,} 件を表示しています。")
                st.dataframe(
                    shown,
                    hide_index=True,
                    height=min(400, 38 + 35 * len(shown)),
                    column_order=("モール", "注文番号", "注文日時", "ステータス", "理由"),
                    column_config={
                        "モール": st.column_config.TextColumn("モール", width=62),
                        "注文番号": st.column_config.TextColumn("注文番号", width=172),
                        "注文日時": st.column_config.TextColumn("注文日時", width=112),
                        "ステータス": st.column_config.TextColumn("ステータス", width=80),
                        "理由": st.column_config.TextColumn("理由", width="large"),
                    },
                )
