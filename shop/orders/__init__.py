"""The 受注ボード's pure logic (no Streamlit), one concern a module. Imports point down this list:

- ``frame``: the order list as a DataFrame (build, columns staff see, merge with archive hits),
  ``OrderKey``, ``keys_of`` and the yen/JST formats.
- ``notes``: the conventions of the 要確認 and 備考 cells (separator, status conflicts, 【保留】).
- ``filters``: counts per status, periods, the status/mall/period/search masks.
- ``review``: the 要確認 queue (what needs a person, why, what to do).
- ``unknown_skus``: mall items without a SKU, suggestions, the モール商品 row that maps one.
- ``board``: ``Board`` and ``History``, built once per workbook read.
- ``archived``: orders found in the archive database, read-only.
- ``detail``: one order's facts, lines with their stock state, amounts and history.
- ``bulk_change``: the status change job for selected orders.
- ``page_text``: the page's sentences, captions and markdown.
"""
