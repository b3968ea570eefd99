"""佐川急便 e飛伝II and e飛伝III: the label import layouts (header row; e飛伝III currently the
e飛伝II columns plus お問い合せ送り状No.) and the e飛伝II 出荷履歴 export that brings the
お問合せ送り状No back. Sources below; ⚠ marks what no source confirms."""

from __future__ import annotations

from shipping.carrier_layouts.schema import CodeTable, Column, Field, Layout, TrackingFormat

SOURCE = (
    "jmleejake/csvProject SagawaVO.java; e飛伝III: manual.aiship.jp e飛伝Ⅲ layout, "
    "共通テンプレート「標準_飛脚宅急便_CSV_ヘッダ有り」(d2c-square.com/?p=805)"
)
_NOTE = "佐川の公式仕様書は未入手。実アカウントの出力で確認すること"

CODES = (
    CodeTable(
        "荷姿コード",
        {"001": "箱類", "008": "その他"},
        SOURCE,
        "002–007 の意味は未確認. " + _NOTE,
    ),
    CodeTable(
        "便種（スピード）",
        {
            "000": "飛脚宅配便",
            "001": "スーパー便",
            "002": "即日",
            "003": "航空便",
            "004": "航空便",
            "005": "ジャストタイム",
        },
        SOURCE,
        _NOTE,
    ),
    CodeTable(
        "便種（商品）",
        {"001": "指定なし", "002": "クール冷蔵", "003": "クール冷凍"},
        SOURCE,
        _NOTE,
    ),
    CodeTable(
        "配達指定時間帯",
        {
            "": "指定なし",
            "01": "午前中",
            "12": "12–14時",
            "14": "14–16時",
            "16": "16–18時",
            "04": "18–21時",
            "18": "18–20時（6区分）",
            "19": "19–21時（6区分）",
        },
        SOURCE,
        "5区分/6区分の切替はアカウント設定次第. " + _NOTE,
    ),
    CodeTable("決済種別", {"0": "", "1": "", "2": "", "5": ""}, SOURCE, "各値の意味が未確認"),
    CodeTable(
        "指定シール",
        {
            "005": "指定日",
            "007": "時間帯",
            "008": "eコレクト",
            "009": "eコレクト",
            "010": "eコレクト",
            "011": "取扱注意",
        },
        SOURCE,
        _NOTE,
    ),
    CodeTable("元着区分", {"1": "元払", "2": "着払"}, SOURCE),
)

_COLUMNS = (
    Column("住所録コード", 12),
    Column("お届け先電話番号", 14, Field.RECIPIENT_PHONE),
    Column("お届け先郵便番号", 8, Field.RECIPIENT_POSTCODE),
    Column("お届け先住所1", 32, Field.RECIPIENT_ADDRESS_1),
    Column("お届け先住所2", 32, Field.RECIPIENT_ADDRESS_2),
    Column("お届け先住所3", 32, Field.RECIPIENT_ADDRESS_3),
    Column("お届け先名称1", 32, Field.RECIPIENT_NAME),
    Column("お届け先名称2", 32),
    Column("お客様管理ナンバー", 16, Field.MANAGEMENT_KEY),
    Column("お客様コード", 12),
    Column("部署・担当者", 32),
    Column("荷送人電話番号", 14),
    Column("ご依頼主電話番号", 14, Field.SENDER_PHONE),
    Column("ご依頼主郵便番号", 8, Field.SENDER_POSTCODE),
    Column("ご依頼主住所1", 32, Field.SENDER_ADDRESS_1),
    Column("ご依頼主住所2", 32, Field.SENDER_ADDRESS_2),
    Column("ご依頼主名称1", 32, Field.SENDER_NAME),
    Column("ご依頼主名称2", 32),
    Column("荷姿コード", 3, value="001"),
    Column("品名1", 32, Field.ITEM_1, truncate=True),
    Column("品名2", 32, Field.ITEM_2, truncate=True),
    Column("品名3", 32, Field.ITEM_3, truncate=True),
    Column("品名4", 32, Field.ITEM_4, truncate=True),
    Column("品名5", 32, Field.ITEM_5, truncate=True),
    Column("出荷個数", 3, value="1"),
    Column("便種（スピード）", 3, value="000"),
    Column("便種（商品）", 3, value="001"),
    Column("配達日", 8),
    Column("配達指定時間帯", 2),
    Column("配達指定時間（時分）", 4),
    Column("代引金額", 7, Field.COD_AMOUNT),
    Column("消費税", 7),
    Column("決済種別", 1),
    Column("保険金額", 7),
    Column("保険金額印字", 1),
    Column("指定シール1", 3),
    Column("指定シール2", 3),
    Column("指定シール3", 3),
    Column("営業店止め", 1),
    Column("ＳＲＣ区分", 1),
    Column("営業店コード", 4),
    Column("元着区分", 1, value="1"),
)


EHIDEN2 = Layout(
    key="sagawa_ehiden2",
    name="佐川 e飛伝II",
    carrier="佐川急便",
    header=True,
    columns=_COLUMNS,
    codes=CODES,
    key_column="お客様管理ナンバー",
    key_limit=16,
    address_widths=(32, 32, 32),
    sender_address_widths=(32, 32),
    source=SOURCE,
    notes=(
        "e飛伝IIで取込レイアウト（見出し1行・42項目）を一度登録してください",
        "⚠ " + _NOTE + "（列幅・お客様管理ナンバーの16桁上限を含む）",
        "⚠ 住所・名称の半角文字はe飛伝側で全角に変換されます（全角16文字まで）",
    ),
)

EHIDEN3 = Layout(
    key="sagawa_ehiden3",
    name="佐川 e飛伝III",
    carrier="佐川急便",
    header=True,
    columns=(*_COLUMNS, Column("お問い合せ送り状No.", 12)),
    codes=CODES,
    key_column="お客様管理ナンバー",
    key_limit=16,
    address_widths=(32, 32, 32),
    sender_address_widths=(32, 32),
    source=SOURCE,
    notes=(
        "e飛伝IIIでは共通テンプレート「標準_飛脚宅急便_CSV_ヘッダ有り」を選んでください",
        "⚠ " + _NOTE,
    ),
)


# The e飛伝II 出荷履歴 export (53 columns) [NewSagawaVO.java]: お問合せ送り状No (column 1), 出荷日時,
# then the import fields and more. e飛伝III's export is not read yet.
HISTORY = TrackingFormat(
    "ehiden2_history",
    "佐川 e飛伝II 出荷履歴（53項目）",
    "佐川急便",
    10,
    0,
    note="⚠ お客様管理ナンバーの位置（11列目）は出荷日時の後に取込項目が続くという資料からの推定。実データで確認すること",
    width=53,
)
