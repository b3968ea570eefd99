"""The hybrid workbook for the benches: staff tabs on the Sheets API fake (served by the bench's
own process, so its cost is not the measured cycle's), Ichigen's own tabs on PostgreSQL.

``staff_spreadsheet`` loads a built SQLite workbook's staff tabs (商品, 在庫, モール商品, 受注,
メールテンプレート) into a new spreadsheet on a running fake, cells as stored (numbers stay
numbers); the machine tabs come from a PostgreSQL copy of the same workbook (the hybrid reads
only its machine-owned tabs there). ``open_hybrid`` opens it in a measuring process.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from sheets_schema.tabs import TABS


def staff_spreadsheet(server: Any, workbook: Path) -> str:
    """A new spreadsheet on ``server`` with the workbook's staff tabs; its key."""
    tabs: dict[str, list[list[Any]]] = {}
    with sqlite3.connect(workbook) as conn:
        for spec in TABS:
            if spec.machine_owned:
                continue
            found = conn.execute(
                "SELECT id, header FROM ichigen_tabs WHERE title = ?", (spec.title,)
            ).fetchone()
            if found is None:
                raise RuntimeError(f"「{spec.title}」シートがワークブック {workbook} にありません")
            rows = [
                json.loads(cells)
                for (cells,) in conn.execute(
                    "SELECT cells FROM ichigen_rows WHERE tab_id = ? ORDER BY row_number", (found[0],)
                )
            ]
            tabs[spec.title] = [json.loads(found[1]), *rows]
    return server.create_spreadsheet("Ichigen ベンチ（ハイブリッド）", tabs)


def open_hybrid(spreadsheet: str, base_url: str, token_uri: str, machine_url: str) -> Any:
    from sheets_schema.adapters.google_sheets import GoogleSheetsWorkbook
    from sheets_schema.adapters.hybrid import HybridWorkbook
    from sheets_schema.adapters.sql import SqlWorkbook
    from tests.fakes.sheets_api import make_service_account_info

    sheets = GoogleSheetsWorkbook(spreadsheet, make_service_account_info(token_uri), api_base_url=base_url)
    return HybridWorkbook(sheets, SqlWorkbook(machine_url))
