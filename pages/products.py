"""商品・在庫: edit products and stock in a grid or from a file, check, then write in one batch.

Three tabs: 商品 and 在庫 are st.data_editor grids (system and key columns locked, yen and
quantities typed); 「変更を確認」 re-validates every edited row on the server and shows before →
after, 「変更を反映」 writes the whole batch as one job (nothing at all when a row has an error).
ファイルで一括更新 takes a CSV or XLSX through the same planner as ``python -m sheets_schema
import``. After a stock change the edit is settled into the ledger (手動調整) and the page shows
what each mall will be sent, with a button to send it now. 閲覧 users see read-only tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from sheets_schema.changes import WriteJob
from sheets_schema.errors import CellConflict, WorkbookError
from sheets_schema.importing import ImportPlan
from sheets_schema.parsing import Table
from sheets_schema.tabs import PRODUCTS, STOCK, TabSpec
from shop import bulk_edit
from sync.engine import Progress
from sync.errors import SyncError
from ui import auth, context
from vocabulary.text import escape_markdown

EDITOR_HEIGHT = 390  # rows visible on a 1366×768 laptop with the title, tabs and buttons
PREVIEW_HEIGHT = 220
WIDTHS = {
    "SKU": 130,
    "商品名": 230,
    "販売価格": 90,
    "原価": 80,
    "JANコード": 118,
    "仕入先": 150,
    "発注点": 66,
    "発注ロット": 80,
    "リードタイム日数": 112,
    "メモ": 160,
    "実在庫": 80,
    "引当数": 70,
    "安全在庫": 92,
    "販売可能数": 92,
    "更新日時": 150,
}
HELP = {
    "SKU": "商品を見分けるコードです。既存の行のSKUは変更できません。",
    "実在庫": "倉庫にある数。変えると差が「手動調整」として在庫移動に記録されます。",
    "安全在庫": "モールに出さずに残しておく数です。",
    "引当数": "未出荷の注文で確保している数（Ichigen が計算）。",
    "販売可能数": "実在庫 − 引当数 − 安全在庫（0未満は0）。この数をモールへ送ります。",
    "更新日時": "Ichigen が在庫を最後に書いた日時です。",
    "商品名": "「商品」シートの商品名（ここでは変更できません）。",
}
FLASH = "products_flash"
PUSH = "products_stock_push"
UPLOAD_PINNED = "products_upload_pinned"  # (file fingerprint, plan, the read it was planned on)
REVIEW = "products_review"  # which editor's diff is being checked in the dialog


# -- small helpers


def _editor_key(slug: str) -> str:
    return f"{slug}_editor_{st.session_state.get(f'{slug}_editor_version', 0)}"


def _reset_editor(slug: str) -> None:
    """A new key gives an empty editor: the written edits are no longer pending."""
    st.session_state.pop(f"{_editor_key(slug)}_loaded", None)  # the next editor loads afresh
    st.session_state[f"{slug}_editor_version"] = st.session_state.get(f"{slug}_editor_version", 0) + 1


def _fingerprint(diff: dict[str, Any]) -> str:
    return json.dumps(diff, sort_keys=True, ensure_ascii=False, default=str)


def _flash(message: str) -> None:
    st.session_state.setdefault(FLASH, []).append(message)


def _column_config(spec: TabSpec, frame: pd.DataFrame, editable: bool, locked: set[str]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "_index": st.column_config.NumberColumn(
            bulk_edit.INDEX_NAME, width=52, format="%d", help="シートの行番号（見出しが1行目）", disabled=True
        )
    }
    for column in frame.columns:
        disabled = not editable or column in locked or column not in spec.staff_columns
        width = WIDTHS.get(column, 120)
        help_text = HELP.get(column)
        if column in bulk_edit.YEN_COLUMNS:
            config[column] = st.column_config.NumberColumn(
                column,
                format="yen",
                min_value=0,
                step=1,
                width=width,
                disabled=disabled,
                help=help_text,
                required=column in spec.headers and bulk_edit.is_required(spec, column),
            )
        elif column in spec.integer_columns:
            config[column] = st.column_config.NumberColumn(
                column,
                format="%d",
                min_value=bulk_edit.column_minimum(spec, column),
                step=1,
                width=width,
                disabled=disabled,
                help=help_text,
                required=bulk_edit.is_required(spec, column),
            )
        else:
            config[column] = st.column_config.TextColumn(
                column,
                width=width,
                disabled=disabled,
                help=help_text,
                pinned=column == spec.key[0],
                required=column in spec.headers and bulk_edit.is_required(spec, column),
            )
    return config


def _write(
    job: WriteJob,
    loaded: str = "表を読み込んだ",
    retry: str = "「変更を取り消す」で最新の状態を表示してから、もう一度入力してください。",
) -> bool:
    try:
        context.write(job)
    except CellConflict as exc:
        # Someone saved over the same cell since this person loaded the table: say what they
        # saw and what is there now, and write nothing (their edit stays in the grid).
        context.after_write()
        st.error(
            f"ほかの人（または同期）が、{loaded}後に「{exc.tab}」シート {exc.row}行目の"
            f"「{escape_markdown(exc.column)}」列を変更しました。"
            f"読み込んだときは「{escape_markdown(exc.loaded) or '（空欄）'}」、"
            f"今は「{escape_markdown(exc.now) or '（空欄）'}」です。上書きしないよう、何も書き込んでいません。"
            + retry,
            icon=":material/sync_problem:",
        )
        return False
    except WorkbookError as exc:
        st.error(f"書き込めませんでした: {escape_markdown(exc)}", icon=":material/error:")
        return False
    return True


def _settle(stock_keys: list[str]) -> None:
    """Turn the staff edit into ledger movements now (no push), then keep the planned pushes."""
    note = ""
    try:
        context.sync_engine().run_once(fetch=False, push=False)
    except (SyncError, WorkbookError) as exc:
        note = f"在庫移動への記録は次の同期で行います（{exc}）"
    finally:
        context.after_write()
    if not stock_keys:
        return
    try:
        planned = context.sync_engine().plan_push()
    except WorkbookError as exc:
        planned, note = [], f"送信予定を読み込めませんでした: {exc}"
    st.session_state[PUSH] = {
        "keys": stock_keys,
        "note": note,
        "plan": [
            {
                "SKU": p.sku,
                "モール": p.mall,
                "前回送信数": "—" if p.last_quantity is None else f"{p.last_quantity:,}",
                "今回送信数": p.quantity,
                "理由": p.reason,
            }
            for p in planned
        ],
    }


# -- the stock push that follows a stock change


def _push_panel(editable: bool) -> None:
    pending = st.session_state.get(PUSH)
    if not pending:
        return
    with st.container(border=True):
        result = pending.get("result")
        head, send_col, later_col = st.columns([5, 2, 1.2], vertical_alignment="center")
        head.markdown("**在庫の送信結果**" if result else "**在庫の変更をモールへ送信**")
        if later_col.button("閉じる", key="stock_push_close", width="stretch"):
            st.session_state.pop(PUSH, None)
            st.rerun()
        if result:
            for kind, text in result:
                (st.success if kind == "ok" else st.warning)(text)
            return
        plan = pd.DataFrame(pending["plan"], columns=["SKU", "モール", "前回送信数", "今回送信数", "理由"])
        send = send_col.button(
            "在庫をモールへ送信",
            type="primary",
            icon=":material/cloud_upload:",
            key="stock_push_send",
            disabled=not editable or plan.empty,
            width="stretch",
        )
        if pending["note"]:
            st.warning(pending["note"], icon=":material/info:")
        if send:
            outcome = _send_stock(sorted(set(plan["モール"])))
            if outcome is not None:
                st.session_state[PUSH] = {"result": outcome}
                st.rerun()
            return
        if plan.empty:
            st.info(
                "モールへ送る在庫数の変更はありません（在庫連携 ON のモール商品がないか、送信済みです）。",
                icon=":material/check_circle:",
            )
            return
        ours = plan[plan["SKU"].isin(set(pending["keys"]))].sort_values("SKU", kind="stable")
        others = len(plan) - len(ours)
        extra = f"。ほかに送信待ちの {others} 件も一緒に送ります" if others else ""
        st.caption(f"変更した SKU の送信予定 {len(ours)} 件{extra}。")
        shown = ours if not ours.empty else plan
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(shown), 180),
            column_config={
                "SKU": st.column_config.TextColumn("SKU", width=140),
                "モール": st.column_config.TextColumn("モール", width=90),
                "前回送信数": st.column_config.TextColumn("前回送信数", width=90),
                "今回送信数": st.column_config.NumberColumn("今回送信数", format="%d", width=90),
                "理由": st.column_config.TextColumn("理由", width=160),
            },
        )


def _send_stock(malls: list[str]) -> list[tuple[str, str]] | None:
    """Settle and push now, showing progress; the outcome as (kind, message) lines, None on failure."""
    total = max(len(malls), 1)
    with st.status("在庫をモールへ送信しています…", expanded=True) as status:
        bar = st.progress(0.0, text="ワークブックを確認しています…")
        sent: list[str] = []

        def progress(step: Progress) -> None:
            if step.stage == "送信":
                sent.append(step.channel)
                st.write(step.message)
            done = 1.0 if step.stage == "完了" else min(len(sent) / total, 0.95)
            bar.progress(done, text=step.message)

        try:
            report = context.sync_engine(progress).run_once(fetch=False)
        except (SyncError, WorkbookError) as exc:
            status.update(label="在庫を送信できませんでした", state="error")
            st.error(str(exc), icon=":material/error:")
            return None
        except Exception as exc:  # a page must never show a traceback to shop staff
            status.update(label="在庫を送信できませんでした", state="error")
            st.error(
                f"予期しないエラーが起きました（{exc.__class__.__name__}）。同期ログを確認してください。"
            )
            return None
        finally:
            context.after_write()
        status.update(label="送信が終わりました", state="complete")
    by_mall: dict[str, list[int]] = {}
    for pushed in report.pushes:
        by_mall.setdefault(pushed.mall, [0, 0])[0 if pushed.ok else 1] += 1
    ok = sum(counts[0] for counts in by_mall.values())
    detail = "・".join(f"{mall} {counts[0]} 件" for mall, counts in by_mall.items())
    lines = [("ok", f"{ok} 件の在庫数をモールへ送信しました" + (f"（{detail}）" if detail else ""))]
    if not report.pushes:
        lines = [("ok", "送信が必要な在庫数はありませんでした。")]
    for pushed in [r for r in report.pushes if not r.ok][:5]:
        lines.append(
            (
                "warn",
                f"{pushed.mall} {pushed.sku}: 送信できませんでした（{pushed.error}）。次の同期で再送します",
            )
        )
    return lines


# -- the grids


def _editor_tab(
    spec: TabSpec,
    slug: str,
    table: Table[Any],
    build: Callable[[Any], pd.DataFrame],
    *,
    editable: bool,
    adds_rows: bool,
    empty_hint: str,
) -> None:
    for problem in table.header_problems:
        st.error(problem, icon=":material/error:")
    if not table.writable:
        st.info("シートの見出しを直すと、ここで編集できるようになります。", icon=":material/info:")
        return
    if table.errors:
        with st.expander(f"⚠ 「{spec.title}」シートに入力エラーが {len(table.errors)} 件あります"):
            st.caption("エラーのある行は同期で読み込まれません。表で正しい値に直して反映すると解消します。")
            for error in table.errors[:50]:
                st.markdown(f"- {escape_markdown(error)}")
    key = _editor_key(slug)
    table, frame = _loaded(key, table, lambda: context.derived(f"bulk_edit:{slug}", build))
    if frame.empty:
        st.info(empty_hint, icon=":material/lightbulb:")
    locked = {*spec.key} if not adds_rows else set()
    config = _column_config(spec, frame, editable, locked)
    if not editable:
        st.dataframe(frame, column_config=config, height=EDITOR_HEIGHT, width="stretch")
        return
    st.data_editor(
        frame,
        key=key,
        column_config=config,
        num_rows="add" if adds_rows else "fixed",
        height=EDITOR_HEIGHT,
        width="stretch",
    )
    diff = bulk_edit.normalise_diff(st.session_state.get(key))
    pending = bulk_edit.pending_count(diff)
    check_col, undo_col, note_col = st.columns([1.3, 1.3, 4], vertical_alignment="center")
    if check_col.button(
        "変更を確認", key=f"{slug}_check", icon=":material/fact_check:", disabled=not pending, width="stretch"
    ):
        st.session_state[REVIEW] = {"slug": slug, "diff": _fingerprint(diff)}
    if undo_col.button("変更を取り消す", key=f"{slug}_undo", disabled=not pending, width="stretch"):
        _reset_editor(slug)
        st.rerun()
    if not pending:
        note_col.caption("セルをダブルクリックして編集し、「変更を確認」を押してください。")
        return
    note_col.caption(f"{pending} 行に未反映の変更があります。「変更を確認」で内容を確かめてから反映します。")
    if st.session_state.get(REVIEW) == {"slug": slug, "diff": _fingerprint(diff)}:
        _review(table, frame, diff, slug)


def _loaded(
    key: str, table: Table[Any], build: Callable[[], pd.DataFrame]
) -> tuple[Table[Any], pd.DataFrame]:
    """The table and grid this person is editing: pinned while they have unsaved edits, so a
    save is checked against what they loaded (a newer read would hide someone else's save made
    meanwhile and let this one overwrite it); the newest read otherwise."""
    pinned_key = f"{key}_loaded"
    pending = bulk_edit.pending_count(bulk_edit.normalise_diff(st.session_state.get(key)))
    pinned = st.session_state.get(pinned_key)
    if pinned is None or not pending:
        pinned = (table, build())
        st.session_state[pinned_key] = pinned
    return pinned


def _close_review() -> None:
    st.session_state.pop(REVIEW, None)


@st.dialog("変更の確認", width="large", on_dismiss=_close_review)
def _review(table: Table[Any], frame: pd.DataFrame, diff: dict[str, Any], slug: str) -> None:
    """Before → after (or the errors) in a dialog, so it fits a 768 px screen over the grid."""
    plan = bulk_edit.plan_edits(table, frame, diff)
    st.markdown(f"**「{plan.tab}」シート**")
    for notice in plan.notices:
        st.caption(notice)
    if plan.errors:
        lines = "\n".join(f"- {e}" for e in plan.errors[:30])
        more = f"\n- …ほか {len(plan.errors) - 30} 件" if len(plan.errors) > 30 else ""
        st.error(
            f"{len(plan.errors)} 件のエラーがあるため、何も書き込んでいません。"
            f"表を直してからもう一度「変更を確認」を押してください。\n\n{lines}{more}",
            icon=":material/error:",
        )
        if st.button("閉じて表を直す", key=f"{slug}_fix"):
            _close_review()
            st.rerun()
        return
    if plan.empty:
        st.info("シートの内容と同じため、変更はありません。", icon=":material/info:")
        if st.button("閉じる", key=f"{slug}_nothing"):
            _reset_editor(slug)
            _close_review()
            st.rerun()
        return
    st.markdown(f"反映する内容: {plan.summary()}")
    st.dataframe(
        plan.preview(),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * (len(plan.changes) + len(plan.additions)), PREVIEW_HEIGHT),
        column_config={
            "行": st.column_config.TextColumn("行", width=50),
            "キー": st.column_config.TextColumn("SKU", width=140),
            "列": st.column_config.TextColumn("列", width=110),
        },
    )
    if plan.stock_changed:
        st.caption("反映すると、差が「手動調整」として在庫移動に記録され、モールへの送信予定が表示されます。")
    apply_col, cancel_col = st.columns(2)
    if cancel_col.button("戻って編集を続ける", key=f"{slug}_back", width="stretch"):
        _close_review()
        st.rerun()
    if apply_col.button(
        "変更を反映", type="primary", key=f"{slug}_apply", icon=":material/save:", width="stretch"
    ):
        if not _write(plan.job(table)):
            return
        _reset_editor(slug)
        _close_review()
        _flash(f"「{plan.tab}」に{plan.summary()}を反映しました。")
        if plan.stock_changed or plan.additions:
            with st.spinner("在庫を台帳に記録しています…"):
                _settle(plan.changed_keys if plan.stock_changed else [])
        st.rerun()


# -- the upload


def _upload_tab(tables: dict[str, Table[Any]], editable: bool) -> None:
    st.caption(
        "「商品」か「在庫」の CSV（UTF-8 または Shift_JIS、1行目は列名）か Excel ファイルで、まとめて更新できます。"
        "SKU で行を照合し、ファイルにない行は削除しません。SKU が 0 で始まる場合は Excel 形式をおすすめします。"
    )
    down = st.columns(3)
    for column, spec in zip(down[:2], (PRODUCTS, STOCK), strict=True):
        table = tables[spec.title]
        column.download_button(
            f"{spec.title}を CSV でダウンロード",
            data=lambda t=table: bulk_edit.table_csv(t),
            file_name=f"{spec.title}.csv",
            mime="text/csv",
            icon=":material/download:",
            width="stretch",
            on_click="ignore",
        )
    down[2].download_button(
        "商品・在庫を Excel でダウンロード",
        data=lambda: bulk_edit.tables_xlsx([tables[PRODUCTS.title], tables[STOCK.title]]),
        file_name="商品・在庫.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        width="stretch",
        on_click="ignore",
    )
    if not editable:
        auth.require(context.role(), "編集", "ファイルでの更新")
        return
    version = st.session_state.get("upload_version", 0)
    choice_col, file_col = st.columns([1, 3])
    choice = choice_col.radio(
        "取り込むシート",
        ["自動で判定", PRODUCTS.title, STOCK.title],
        key="upload_tab_choice",
        help="CSV や1シートだけの Excel は列名からシートを判定します。判定できないときは選んでください。",
    )
    uploaded = file_col.file_uploader(
        "CSV または Excel ファイル", type=["csv", "xlsx"], key=f"upload_{version}"
    )
    if uploaded is None:
        file_col.caption("ダウンロードしたファイルを編集して、ここにドラッグ＆ドロップしてください。")
        return
    chosen = None if choice == "自動で判定" else choice
    plan, planned_on = _upload_plan(tables, uploaded.name, uploaded.getvalue(), chosen)
    _show_upload_plan(plan, planned_on)


def _upload_plan(
    tables: dict[str, Table[Any]], name: str, data: bytes, chosen: str | None
) -> tuple[ImportPlan, dict[str, Table[Any]]]:
    """The plan shown for this file and the read it was planned against, pinned while the same
    file (and sheet choice) stays in the uploader: 「反映」 then writes only if every cell it
    overwrites still reads as previewed (like the grid's ``_loaded``); re-planning against a
    newer read would silently apply a preview nobody saw, over someone else's save."""
    fingerprint = (name, hashlib.sha256(data).hexdigest(), chosen)
    pinned = st.session_state.get(UPLOAD_PINNED)
    if pinned is None or pinned[0] != fingerprint:
        pinned = (fingerprint, bulk_edit.plan_upload(tables, name, data, chosen), dict(tables))
        st.session_state[UPLOAD_PINNED] = pinned
    return pinned[1], pinned[2]


def _show_upload_plan(plan: ImportPlan, tables: dict[str, Table[Any]]) -> None:
    for notice in plan.notices:
        st.caption(f"お知らせ: {escape_markdown(notice)}")
    if plan.errors:
        lines = "\n".join(f"- {escape_markdown(e)}" for e in plan.errors[:30])
        more = f"\n- …ほか {len(plan.errors) - 30} 件" if len(plan.errors) > 30 else ""
        st.error(
            f"{len(plan.errors)} 件のエラーがあるため取り込みません（何も書き込んでいません）。"
            f"ファイルを直してからもう一度アップロードしてください。\n\n{lines}{more}",
            icon=":material/error:",
        )
        return
    if not plan.changes and not plan.additions:
        st.info("ファイルの内容はシートと同じです。変更はありません。", icon=":material/info:")
        return
    summary = f"変更 {len(plan.changes)} セル・追加 {plan.addition_count} 行"
    st.markdown(f"**取り込む内容**（{summary}）")
    preview = bulk_edit.upload_preview(plan)
    st.dataframe(
        preview, hide_index=True, width="stretch", height=min(38 + 35 * len(preview), PREVIEW_HEIGHT)
    )
    if st.button("ファイルの内容を反映", type="primary", key="upload_apply", icon=":material/save:"):
        st.session_state.pop(UPLOAD_PINNED, None)  # written or refused: the next view plans afresh
        if not _write(
            plan.job(tables),
            "ファイルの取り込み内容を表示した",
            "もう一度画面を操作すると最新の状態で取り込み内容を計算し直します。確かめてから反映してください。",
        ):
            return
        st.session_state["upload_version"] = st.session_state.get("upload_version", 0) + 1
        _flash(f"ファイルから{summary}を反映しました。")
        stock = bulk_edit.upload_touches_stock(plan)
        if stock or plan.additions:
            with st.spinner("在庫を台帳に記録しています…"):
                _settle(bulk_edit.upload_changed_keys(plan, STOCK.title) if stock else [])
        st.rerun()


# -- the page

snapshot = context.snapshot()
tables = snapshot.tables
editable = auth.can(context.role(), "編集")

st.title("商品・在庫")
if editable:
    st.caption(
        "表のセルを書き換えて「変更を確認」→「変更を反映」で保存します。"
        "灰色の列（引当数・販売可能数など）は Ichigen が計算します。"
    )
else:
    auth.require(context.role(), "編集", "商品・在庫の編集")
for message in st.session_state.pop(FLASH, []):
    st.success(message, icon=":material/check_circle:")
_push_panel(editable)

products_tab, stock_tab, upload_tab = st.tabs(
    ["商品", "在庫", "ファイルで一括更新"], key="products_tab", on_change="rerun"
)
# Every tab is drawn on every run, so unsaved edits in a hidden grid are kept; the tabs keep
# their selection through reruns (key + on_change) even when a message appears above them.
with products_tab:
    _editor_tab(
        PRODUCTS,
        "products",
        tables[PRODUCTS.title],
        lambda t: bulk_edit.editor_frame(t[PRODUCTS.title]),
        editable=editable,
        adds_rows=True,
        empty_hint="商品がまだありません。表の一番下の行に入力して追加するか、「ファイルで一括更新」から取り込めます。",
    )
with stock_tab:
    _editor_tab(
        STOCK,
        "stock",
        tables[STOCK.title],
        lambda t: bulk_edit.editor_frame(t[STOCK.title], bulk_edit.stock_labels(t[PRODUCTS.title])),
        editable=editable,
        adds_rows=False,
        empty_hint="在庫の行はまだありません。「商品」に商品を追加すると、次の同期で在庫の行が作られます。",
    )
with upload_tab:
    _upload_tab(tables, editable)
