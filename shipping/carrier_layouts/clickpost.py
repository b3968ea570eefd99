"""日本郵便 クリックポスト: the まとめ申込 CSV (8 columns, header row). It has no management-number
column, so tracking numbers come back through the shop's own 2-column file.

Widths and conversions as production code writes them [YAJIMA/welcart_csv4clickpost
ClickpostNumber.class.php outcsv]: 郵便番号 without the hyphen; 氏名 and 住所1–3行目 converted to 全角
(mb_convert_kana "A") and cut at 20 characters; 内容品 cut at 12 characters plus 「..他」 when there
is more than one item. Ichigen converts the same way (``Layout.zenkaku``: 40 bytes = 20 全角) and
splits a long address over the four lines instead of cutting it."""

from __future__ import annotations

from shipping.carrier_layouts.schema import Column, Field, Layout, Methods

CLICKPOST = Layout(
    key="clickpost",
    name="クリックポスト まとめ申込",
    carrier="日本郵便",
    header=True,
    columns=(
        Column("お届け先郵便番号", 7, Field.RECIPIENT_POSTCODE_DIGITS),
        Column("お届け先氏名", 40, Field.RECIPIENT_NAME),
        Column("お届け先敬称", 4, value="様"),
        Column("お届け先住所1行目", 40, Field.RECIPIENT_ADDRESS_1),
        Column("お届け先住所2行目", 40, Field.RECIPIENT_ADDRESS_2),
        Column("お届け先住所3行目", 40, Field.RECIPIENT_ADDRESS_3),
        Column("お届け先住所4行目", 40, Field.RECIPIENT_ADDRESS_4),
        # ⚠ 15 全角: the plugin's 12 characters + 「..他」; the service's own limit is unconfirmed.
        Column("内容品", 30, Field.ITEMS_SUMMARY, truncate=True),
    ),
    key_column=None,
    address_widths=(40, 40, 40, 40),
    zenkaku=True,
    methods=Methods(default="クリックポスト", codes={"クリックポスト": ""}, cod_codes={}),
    source="jmleejake/csvProject ClickPostVO.java; YAJIMA/welcart_csv4clickpost ClickpostNumber.class.php",
    notes=(
        "クリックポストには管理番号の列がありません。お問い合わせ番号は「注文番号,追跡番号」の2列ファイルで取り込んでください",
        "氏名・住所は全角に変換し、住所は全角20文字ずつ4行に分けて入れます",
        "⚠ 発行済みお問い合わせ番号（12桁）のCSV出力と内容品の文字数上限は未確認です",
    ),
)
