"""The 出荷 page's label file, built once per workbook read, carrier layout, order choice and
day instead of on every rerun (a few thousand open orders take more than half a second)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from sheets_schema.book import Tables
from sheets_schema.cells import JST
from shipping import carrier_files
from shipping.carrier_layouts import LAYOUTS, Layout
from shipping.documents import orders_with_lines
from ui import context


@st.cache_resource(max_entries=8, show_spinner=False)
def _label_file(
    workbook_id: str,
    read_at: str,
    layout_key: str,
    keys: tuple[tuple[str, str], ...],
    sender: tuple[str, str, str, str],
    ship_date: str,
    _tables: Tables,
) -> bytes | carrier_files.LabelFileError:
    layout = LAYOUTS[layout_key]
    orders = orders_with_lines(_tables, list(keys))
    try:
        return carrier_files.build_file(
            layout,
            orders,
            sender=carrier_files.Sender(*sender),
            ship_date=datetime.fromisoformat(ship_date).date(),
        )
    except carrier_files.LabelFileError as exc:
        return exc  # cached like a file: the same orders give the same error


def label_file(layout: Layout, keys: Sequence[tuple[str, str]], sender: carrier_files.Sender) -> bytes:
    """``carrier_files.build_file`` for these orders of the current snapshot, shipping today
    (JST); raises ``LabelFileError`` as it does."""
    snap = context.snapshot()
    made = _label_file(
        context.workbook_id(),
        snap.read_at.isoformat(),
        layout.key,
        tuple((str(m), str(n)) for m, n in keys),
        (sender.name, sender.postcode, sender.address, sender.phone),
        datetime.now(JST).date().isoformat(),
        snap.tables,
    )
    if isinstance(made, carrier_files.LabelFileError):
        raise made
    return made
