"""日本郵便 クリックポスト: the まとめ申込 CSV (8 columns, header row). It has no management-number
column, so tracking numbers come back through the shop's own 2-column file."""

from __future__ import annotations

from shipping.carrier_layouts.schema import Column, Field, Layout

CLICKPOST = Layout(
    key="clickpost",
    name="クリックポスト まとめ申込",
    carrier="日本郵便",
    header=True,
    columns=(
        Column("お届け先郵便番号", 8, Field.RECIPIENT_POSTCODE),
        Column("お届け先氏名", 40, Field.RECIPIENT_NAME),
        Column("お届け先敬称", 4, value="様"),
        Column("お届け先住所1行目", 40, Field.RECIPIENT_ADDRESS_1),
        Column("お届け先住所2行目", 40, Field.RECIPIENT_ADDRESS_2),
        Column("お届け先住所3行目", 40, Field.RECIPIENT_ADDRESS_3),
        Column("お届け先住所4行目", 40, Field.RECIPIENT_ADDRESS_4),
        Column("内容品", 30, Field.ITEMS_SUMMARY, truncate=True),
    ),
    key_column=None,
    address_widths=(40, 40, 40, 40),
    source="jmleejake/csvProject ClickPostVO.java",
    notes=(
        "クリックポストには管理番号の列がありません。お問い合わせ番号は「注文番号,追跡番号」の2列ファイルで取り込んでください",
        "⚠ 発行済みお問い合わせ番号（12桁）のCSV出力は資料が見つかっていません",
        "⚠ 各列の文字数上限は未確認",
    ),
)
