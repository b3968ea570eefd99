"""発注・仕入・入荷・返品・棚卸: the stock side of 一元管理, as plain Python (no Streamlit).

- ``suggestions``: what to order, per SKU, from sales velocity, stock, 発注残 and the product's
  発注点 / 発注ロット / リードタイム日数, explained in a sentence per row;
- ``purchase_orders``: 発注 and 発注明細 as the workbook holds them (発注残, drafting from
  accepted suggestions, numbering);
- ``receiving``: 入荷 against a 発注 (partial, short, over) or without one, as 入庫 movements and
  the 発注's 入荷数 and status in one job;
- ``ledger_now``: the ledger's totals now (_台帳集計 plus the tail from the mark), read safely
  against a cycle moving the mark;
- ``returns``: 返品 against a shipped order line (返品入庫 / 不良入庫), returned-before from
  _受注在庫 and the tail (the whole ledger only once a line had a folded return);
- ``defective``: 不良処分 and 不良振替;
- ``stocktake`` and ``count_files``: the count sheet (CSV / .xlsx by 棚番), counts read back
  with errors by file, row and column, a preview valued at 原価, and 棚卸 movements in one job
  taken against 帳簿在庫 at count time.
- ``velocity``: units sold per SKU for 発注提案, from 分析's base and the archive's line facts;
- ``valuation``: 在庫金額 at moving-average cost (原価 as the fallback) now and at month ends;
  ``stock_history`` what it reads, ``ledger_rows`` the ledger's cells without pydantic;
- ``return_rates``: 返品率 per SKU from the ledger's movements.
"""
