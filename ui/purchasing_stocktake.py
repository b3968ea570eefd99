"""棚卸 tab of 発注・入荷: ① make a count sheet (by 棚番) and download it, ② enter the counts
(upload the filled-in sheet, or type and scan them here), ③ check the differences valued at
cost, ④ apply them as 棚卸 movements in one job.

The difference is taken against 帳簿在庫 as the sheet recorded it, so orders that ship while
goods are counted are not lost (see ``purchasing.stocktake``). Making the sheet first settles
edits staff typed into 在庫 (for 編集: 閲覧 only reads), so 帳簿在庫 is the ledger's latest.
閲覧 may make and download count sheets and see the preview; applying needs 編集.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pandas as pd
import streamlit as st

from purchasing import count_files
from purchasing.receiving import find_product
from purchasing.stocktake import (
    Counts,
    CountSheet,
    Preview,
    apply_stocktake,
    make_count_sheet,
    preview,
    read_for_stocktake,
)
from sheets_schema.cells import JST, format_datetime
from sheets_schema.errors import WorkbookError
from ui import auth, context
from ui.purchasing_actions import Flash, refused, settle, write
from vocabulary.text import escape_markdown

FLASH = Flash("stocktake_flash")
SHEET = "stocktake_sheet"  # the CountSheet made on this screen
TYPED = "stocktake_typed"  # SKU -> 実数 typed or scanned on screen
EDITOR = "stocktake_editor_version"
STATE = "stocktake_state"  # (LedgerNow, products) the preview was drawn with
SCAN = "stocktake_scan"
TYPED_SOURCE = "画面の棚卸表"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def stocktake_tab() -> None:
    role = context.role()
    FLASH.show()
    st.caption(
        "棚卸表を作って数え、数えた数（実数）を入れると、帳簿在庫との差を在庫移動（棚卸）として記録します。"
        "差は棚卸表を作ったときの帳簿在庫と比べるので、数えている間の出荷や新しい注文はそのまま残ります。"
        "不良在庫は別に管理しているため、ここでは数えません。"
    )
    _make_sheet(role)
    st.divider()
    counts = _enter_counts()
    if counts is not None:
        st.divider()
        _preview_and_apply(counts, role)


# -- ① the count sheet


def _make_sheet(role: auth.Role) -> None:
    st.markdown("**① 棚卸表を作る**")
    prefix_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
    prefix = prefix_col.text_input(
        "棚番（前方一致。空欄ならすべての商品）", placeholder="例: A-", key="stocktake_prefix"
    )
    if button_col.button("棚卸表を作る", icon=":material/checklist:", key="stocktake_make", width="stretch"):
        with st.spinner("帳簿在庫を読み込んでいます…"):
            if auth.can(role, "編集"):
                settle(FLASH, quiet=True)  # edits typed into 在庫 reach the ledger before it is read
            try:
                ledger, products, _sets = read_for_stocktake(context.workbook())
            except WorkbookError as exc:
                st.error(f"読み込めませんでした: {escape_markdown(exc)}", icon=":material/error:")
                return
            token = "".join(secrets.choice(_LETTERS) for _ in range(4))
            sheet = make_count_sheet(
                products.values(), ledger.on_hand, now=datetime.now(JST), token=token, location_prefix=prefix
            )
        st.session_state[SHEET] = sheet
        st.session_state[TYPED] = {}
        st.session_state[EDITOR] = st.session_state.get(EDITOR, 0) + 1
        st.session_state.pop(STATE, None)
    sheet: CountSheet | None = st.session_state.get(SHEET)
    if sheet is None:
        return
    st.caption(
        f"棚卸ID {escape_markdown(sheet.stocktake_id)}・帳簿日時 {sheet.counted_at:%Y-%m-%d %H:%M}・{len(sheet.rows)} 商品。"
        "印刷して数え、「実数」列に数を書き込んでアップロードするか、下の表に入力してください。"
    )
    csv_col, xlsx_col = st.columns(2)
    csv_col.download_button(
        "棚卸表（CSV）",
        data=lambda: count_files.to_csv(sheet),
        file_name=count_files.file_name(sheet, "csv"),
        mime="text/csv",
        icon=":material/download:",
        width="stretch",
        on_click="ignore",
    )
    xlsx_col.download_button(
        "棚卸表（Excel）",
        data=lambda: count_files.to_xlsx(sheet),
        file_name=count_files.file_name(sheet, "xlsx"),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        width="stretch",
        on_click="ignore",
    )


# -- ② the counts


def _enter_counts() -> Counts | None:
    st.markdown("**② 数えた数を入れる**")
    how = st.radio(
        "入力のしかた",
        ["棚卸表ファイルをアップロード", "この画面で入力・スキャン"],
        horizontal=True,
        key="stocktake_how",
        label_visibility="collapsed",
    )
    if how == "棚卸表ファイルをアップロード":
        return _uploaded()
    return _typed()


def _known_skus() -> set[str]:
    return {r.value.sku for r in context.snapshot().tables["商品"]}


def _show_errors(errors: list[str]) -> None:
    listed = "\n".join(f"- {escape_markdown(e)}" for e in errors[:30])
    more = f"\n- …ほか {len(errors) - 30} 件" if len(errors) > 30 else ""
    st.error(
        f"{len(errors)} 件のエラーがあるため反映できません（何も書き込んでいません）。直してからもう一度入れてください。\n\n{listed}{more}",
        icon=":material/error:",
    )


def _uploaded() -> Counts | None:
    version = st.session_state.get(EDITOR, 0)  # a new uploader once a sheet was applied
    upload = st.file_uploader(
        "記入した棚卸表（CSV・Excel）", type=["csv", "xlsx"], key=f"stocktake_upload_{version}"
    )
    if upload is None:
        return None
    data = upload.getvalue()
    grid, errors = count_files.read_count_file(upload.name, data)
    counts = None
    if grid is not None:
        counts, errors = count_files.parse_counts(grid, upload.name, _known_skus())
    if errors:
        _show_errors(errors)
        return None
    _pin_state(hashlib.sha256(data).hexdigest())
    return counts


def _typed() -> Counts | None:
    sheet: CountSheet | None = st.session_state.get(SHEET)
    if sheet is None:
        st.info("先に ① で棚卸表を作ってください。", icon=":material/info:")
        return None
    typed: dict[str, int | None] = st.session_state.setdefault(TYPED, {})
    st.text_input(
        "JANコード・SKU をスキャン（1回で1個ずつ足します）",
        key=SCAN,
        on_change=_scanned,
        placeholder="バーコードリーダーで読み取るか、入力して Enter",
    )
    frame = pd.DataFrame(
        [
            {"棚番": r.location, "SKU": r.sku, "商品名": r.name, "帳簿在庫": r.book, "実数": typed.get(r.sku)}
            for r in sheet.rows
        ],
        columns=["棚番", "SKU", "商品名", "帳簿在庫", "実数"],
    ).astype({"実数": "Int64"})
    key = f"stocktake_editor_{st.session_state.get(EDITOR, 0)}"
    edited = st.data_editor(
        frame,
        key=key,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(frame), 420),
        disabled=["棚番", "SKU", "商品名", "帳簿在庫"],
        column_config={"実数": st.column_config.NumberColumn("実数", min_value=0, step=1, format="%d")},
    )
    entered = {
        sku: value for sku, value in zip(edited["SKU"], edited["実数"], strict=True) if not pd.isna(value)
    }
    st.session_state[TYPED] = {**{s: None for s in typed}, **{s: int(v) for s, v in entered.items()}}
    if not entered:
        return None
    counts, errors = count_files.parse_counts(
        count_files.typed_grid(sheet, entered), TYPED_SOURCE, _known_skus()
    )
    if errors:
        _show_errors(errors)
        return None
    _pin_state(sheet.stocktake_id)
    return counts


def _scanned() -> None:
    """A scan adds one to that product's 実数 (the grid reloads with it)."""
    code = str(st.session_state.get(SCAN, "")).strip()
    st.session_state[SCAN] = ""
    sheet: CountSheet | None = st.session_state.get(SHEET)
    if not code or sheet is None:
        return
    products = {r.value.sku: r.value for r in context.snapshot().tables["商品"]}
    product = find_product(products, code)
    on_sheet = {r.sku for r in sheet.rows}
    if product is None or product.sku not in on_sheet:
        FLASH.add(
            "warning", f"「{code}」はこの棚卸表の商品にありません（JANコードか SKU を確かめてください）。"
        )
        return
    typed: dict[str, int | None] = st.session_state.setdefault(TYPED, {})
    typed[product.sku] = (typed.get(product.sku) or 0) + 1
    st.session_state[EDITOR] = st.session_state.get(EDITOR, 0) + 1  # the grid shows the new count
    FLASH.add("info", f"{product.sku} {product.name}: 実数 {typed[product.sku]}")


# -- ③ preview, ④ apply


def _pin_state(source: str) -> None:
    """The ledger read the preview is drawn with: kept while the same counts stay on screen."""
    pinned = st.session_state.get(STATE)
    if pinned is None or pinned[0] != source:
        try:
            st.session_state[STATE] = (source, *read_for_stocktake(context.workbook()))
        except WorkbookError as exc:
            st.error(f"読み込めませんでした: {escape_markdown(exc)}", icon=":material/error:")


def _preview_frame(shown: Preview) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "棚番": d.location,
                "SKU": d.sku,
                "商品名": d.name,
                "帳簿在庫": d.book,
                "実数": d.counted,
                "差異": d.diff,
                "原価": "（未設定）" if d.cost is None else f"¥{d.cost:,}",
                "差異金額": "—" if d.value is None else f"¥{d.value:,}",
                "今の実在庫": d.on_hand_now,
                "反映後": d.on_hand_now + d.diff,
            }
            for d in shown.rows
        ]
    )


def _preview_and_apply(counts: Counts, role: auth.Role) -> None:
    pinned = st.session_state.get(STATE)
    if pinned is None:
        return
    _, ledger, products, _sets = pinned
    shown = preview(counts, products, ledger)
    st.markdown("**③ 差異の確認**")
    changed = shown.changed
    st.caption(
        f"棚卸ID {escape_markdown(counts.stocktake_id)}（帳簿日時 {format_datetime(counts.counted_at)[:16]}）: "
        f"数えた {len(shown.rows)} 商品のうち、差異のあるもの {len(changed)} 商品。"
        f"差異の金額（原価）合計 ¥{shown.value_total:,}"
    )
    if shown.uncosted:
        st.warning(
            f"原価が空欄の商品 {len(shown.uncosted)} 件は金額に含めていません"
            f"（{escape_markdown('、'.join(shown.uncosted[:10]))}）。"
            "商品シートで原価を入れると金額に含まれます。",
            icon=":material/warning:",
        )
    for warning in shown.warnings:
        st.warning(escape_markdown(warning), icon=":material/warning:")
    only_changed = st.toggle("差異のある商品だけ表示", value=True, key="stocktake_only_changed")
    frame = _preview_frame(Preview(changed) if only_changed else shown)
    st.dataframe(frame, hide_index=True, width="stretch", height=min(38 + 35 * max(len(frame), 1), 420))
    st.markdown("**④ 反映**")
    if not auth.require(role, "編集", "棚卸の反映"):
        return
    if st.button("棚卸を反映する", type="primary", icon=":material/inventory:", key="stocktake_apply"):
        _apply(counts)
        st.rerun()


def _apply(counts: Counts) -> None:
    with st.spinner("棚卸を記録し、在庫に反映しています…"):
        try:
            ledger, products, sets = read_for_stocktake(context.workbook())
        except WorkbookError as exc:
            FLASH.add("error", f"読み込めませんでした: {exc}")
            return
        applied = apply_stocktake(counts, products, ledger, now=datetime.now(JST), sets=sets)
        st.session_state.pop(STATE, None)
        if applied.refused:
            refused(FLASH, applied.refused)
            return
        if not write(applied.job, FLASH, "棚卸"):
            return
        FLASH.add(
            "success",
            f"棚卸 {counts.stocktake_id} を反映しました（数えた {len(counts.counted)} 商品・差異 {len(applied.movements)} 商品）。",
        )
        for key in (SHEET, TYPED):
            st.session_state.pop(key, None)
        st.session_state[EDITOR] = st.session_state.get(EDITOR, 0) + 1
        settle(FLASH)
