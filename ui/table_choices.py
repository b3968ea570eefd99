"""A 「表示」 popover beside a big table: the person picks the columns it shows, its height in
rows and whether long text wraps; the choice is kept for them (shop.table_choices) and used
the next time they open the page, on any PC signed in as them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from settings import PROJECT_ROOT
from shop.table_choices import ROW_CHOICES, ChoiceStore, TableChoice, person_key
from ui import context


@st.cache_resource
def _store(path: str) -> ChoiceStore:  # one per file: its lock guards every session's writes
    return ChoiceStore(Path(path))


def _person() -> str:
    if context.settings().auth is None:
        return person_key(None)
    return person_key(str(st.user.get("email") or ""))


def _current_store() -> ChoiceStore:
    path = Path(context.settings().app.screen_settings_path)
    return _store(str(path if path.is_absolute() else PROJECT_ROOT / path))


def table_choice(
    table: str, columns: Sequence[str], default: TableChoice, *, label: str = "表示"
) -> TableChoice:
    """Draw the popover for ``table`` and return the person's choice (saved when changed)."""
    store = _current_store()
    person = _person()
    saved = store.get(person, table, default)
    with st.popover(label, icon=":material/view_column:"):
        shown = st.multiselect(
            "表示する列",
            list(columns),
            default=saved.columns(columns),
            key=f"table_columns_{table}",
            help="表に出す列を選びます。選ばなかった列は隠れるだけで、データはそのままです。",
        )
        rows = st.segmented_control(
            "表の高さ（行数）",
            ROW_CHOICES,
            default=saved.rows,
            format_func=lambda n: f"{n}行",
            key=f"table_rows_{table}",
        )
        wrap = st.toggle(
            "長い文字を折り返して全部表示",
            value=saved.wrap,
            key=f"table_wrap_{table}",
            help="SKU や商品名が長くて切れるときに。1行が高くなります。",
        )
        if st.button("最初の表示に戻す", key=f"table_reset_{table}"):
            store.put(person, table, default)
            for key in (f"table_columns_{table}", f"table_rows_{table}", f"table_wrap_{table}"):
                st.session_state.pop(key, None)
            st.rerun()
        st.caption("この設定はあなた用に保存され、次に開いたときも使われます。")
    choice = TableChoice(
        hidden=tuple(c for c in columns if c not in shown),
        rows=rows if rows in ROW_CHOICES else saved.rows,
        wrap=bool(wrap),
    )
    if choice != saved:
        store.put(person, table, choice)
    return choice
