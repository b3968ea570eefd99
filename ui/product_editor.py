"""The 商品・在庫 grids' session state and writes: which editor key holds the pending diff, the
table an edit or an upload was planned on (pinned while it is pending), the column configs, the
write that refuses on a conflict, and settling a stock change into the ledger."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from sheets_schema.changes import WriteJob
from sheets_schema.errors import CellConflict, WorkbookError
from sheets_schema.importing import ImportPlan
from sheets_schema.parsing import Table
from sheets_schema.tabs import TabSpec
from shop import bulk_edit, bulk_upload
from shop.products_page import HELP, WIDTHS, conflict_message, push_plan_rows
from sync.errors import SyncError
from ui import context
from vocabulary.text import escape_markdown

FLASH = "products_flash"
PUSH = "products_stock_push"
UPLOAD_PINNED = "products_upload_pinned"  # (file fingerprint, plan, the read it was planned on)
REVIEW = "products_review"  # which editor's diff is being checked in the dialog
UPLOAD_VERSION = "upload_version"
PREVIEW_HEIGHT = 220  # the before → after tables of a grid edit and of an upload


def editor_key(slug: str) -> str:
    return f"{slug}_editor_{st.session_state.get(f'{slug}_editor_version', 0)}"


def reset_editor(slug: str) -> None:
    """A new key gives an empty editor: the written edits are no longer pending."""
    st.session_state.pop(f"{editor_key(slug)}_loaded", None)  # the next editor loads afresh
    st.session_state[f"{slug}_editor_version"] = st.session_state.get(f"{slug}_editor_version", 0) + 1


def flash(message: str) -> None:
    st.session_state.setdefault(FLASH, []).append(message)


def take_flashes() -> list[str]:
    return st.session_state.pop(FLASH, [])


def close_review() -> None:
    st.session_state.pop(REVIEW, None)


def pending_diff(key: str) -> tuple[dict[str, Any], int]:
    """The editor's diff (normalised) and how many rows it changes."""
    diff = bulk_edit.normalise_diff(st.session_state.get(key))
    return diff, bulk_edit.pending_count(diff)


def loaded(key: str, table: Table[Any], build: Callable[[], pd.DataFrame]) -> tuple[Table[Any], pd.DataFrame]:
    """The table and grid this person is editing: pinned while they have unsaved edits, so a
    save is checked against what they loaded (a newer read would hide someone else's save made
    meanwhile and let this one overwrite it); the newest read otherwise."""
    pinned_key = f"{key}_loaded"
    _, pending = pending_diff(key)
    pinned = st.session_state.get(pinned_key)
    if pinned is None or not pending:
        pinned = (table, build())
        st.session_state[pinned_key] = pinned
    return pinned


def upload_plan(
    tables: dict[str, Table[Any]], name: str, data: bytes, chosen: str | None
) -> tuple[ImportPlan, dict[str, Table[Any]]]:
    """The plan shown for this file and the read it was planned against, pinned while the same
    file (and sheet choice) stays in the uploader: 「反映」 then writes only if every cell it
    overwrites still reads as previewed (like the grid's ``loaded``); re-planning against a
    newer read would silently apply a preview nobody saw, over someone else's save."""
    fingerprint = (name, hashlib.sha256(data).hexdigest(), chosen)
    pinned = st.session_state.get(UPLOAD_PINNED)
    if pinned is None or pinned[0] != fingerprint:
        pinned = (fingerprint, bulk_upload.plan_upload(tables, name, data, chosen), dict(tables))
        st.session_state[UPLOAD_PINNED] = pinned
    return pinned[1], pinned[2]


def column_config(spec: TabSpec, frame: pd.DataFrame, editable: bool, locked: set[str]) -> dict[str, Any]:
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


def write(
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
        st.error(conflict_message(exc, loaded, retry), icon=":material/sync_problem:")
        return False
    except WorkbookError as exc:
        st.error(f"書き込めませんでした: {escape_markdown(exc)}", icon=":material/error:")
        return False
    return True


def settle(stock_keys: list[str]) -> None:
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
    st.session_state[PUSH] = {"keys": stock_keys, "note": note, "plan": push_plan_rows(planned)}
