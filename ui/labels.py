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
    account: tuple[str, str, str, int],
    ship_date: str,
    _tables: Tables,
) -> carrier_files.LabelFile | carrier_files.LabelFileError:
    layout = LAYOUTS[layout_key]
    orders = orders_with_lines(_tables, list(keys))
    try:
        return carrier_files.prepare_file(
            layout,
            orders,
            sender=carrier_files.Sender(*sender),
            ship_date=datetime.fromisoformat(ship_date).date(),
            account=carrier_files.YamatoAccount(*account),
            # Every order a tracking file is matched against: no key shared with any of them.
            other_orders=_tables["受注"].models(),
        )
    except carrier_files.LabelFileError as exc:
        return exc  # cached like a file: the same orders give the same error


def label_file(
    layout: Layout,
    keys: Sequence[tuple[str, str]],
    sender: carrier_files.Sender,
    account: carrier_files.YamatoAccount,
) -> carrier_files.LabelFile:
    """``carrier_files.prepare_file`` for these orders of the current snapshot, shipping today
    (JST); raises ``LabelFileError`` as it does."""
    snap = context.snapshot()
    made = _label_file(
        context.workbook_id(),
        snap.read_at.isoformat(),
        layout.key,
        tuple((str(m), str(n)) for m, n in keys),
        (sender.name, sender.postcode, sender.address, sender.phone),
        (
            account.billing_customer_code,
            account.billing_class_code,
            account.freight_number,
            account.cod_tax_rate_percent,
        ),
        datetime.now(JST).date().isoformat(),
        snap.tables,
    )
    if isinstance(made, carrier_files.LabelFileError):
        raise made
    return made
