"""佐川急便 e飛伝II and e飛伝III: the label import layouts (header row) and the exports that bring
the お問合せ送り状No back (e飛伝II 出荷履歴, e飛伝III 出荷データ). Sources below; ⚠ marks what no
source confirms.

Text columns count 全角 characters: the production plugins convert half-width to full-width
(mb_convert_kana "A"/"RNASKV") and cut at 16 characters (PlugAid PAEhidenUtills
plg_PAEhidenUtills_CreateCSV.php: mb_substr(…, 0, 16) for 住所1–3, 名称1–2; Welcart WCEX Sagawa
Number (Collne) outcsv_shipping: 住所・名称・品名 16). Ichigen converts the same way, so 32 bytes
below is 16 全角 characters exactly (``Layout.zenkaku``), and splits a long address over
住所1–3 and a long name over 名称1–2 instead of cutting it."""

from __future__ import annotations

from shipping.carrier_layouts.schema import CodeTable, Column, Field, Layout, Methods, TrackingFormat

SOURCE_II = (
    "jmleejake/csvProject SagawaVO.java; plugaid/PAEhidenUtills plg_PAEhidenUtills_CreateCSV.php "
    "(42 columns, 16-character cuts, 配達指定時間帯 codes, 指定シール 005)"
)
SOURCE_III = (
    "Welcart WCEX Sagawa Number 2.0.0 (Collne) outcsv_shipping (74 columns in order, 全角 16-character "
    "cuts, スピード指定 000, クール便指定 001–003, 決済種別 0–3, 指定シール 001–026, 荷姿 001–008); "
    "the same 74 names in several public e飛伝Ⅲ exporters (e.g. and-period/furumaru sagawa receipt)"
)
_NOTE = "佐川の公式仕様書は未入手。実アカウントの出力で確認すること"

# 配達指定時間帯: both plugins map 午前中 01, 12–14 12, 14–16 14, 16–18 16, 18–20 18, 18–21 04,
# 19–21 19 (PAEhidenUtills getDelivTime; WCEX Sagawa Number default time_zone option).
_TIME = CodeTable(
    "配達指定時間帯",
    {
        "": "指定なし",
        "01": "午前中",
        "12": "12–14時",
        "14": "14–16時",
        "16": "16–18時",
        "18": "18–20時",
        "04": "18–21時",
        "19": "19–21時",
    },
    SOURCE_II + "; " + SOURCE_III,
)
_PACKING = CodeTable(
    "荷姿",
    {
        "001": "箱類",
        "002": "バッグ類",
        "003": "スーツケース",
        "004": "封筒類",
        "005": "ゴルフバッグ",
        "006": "スキー",
        "007": "スノーボード",
        "008": "その他",
    },
    SOURCE_III,
)

CODES_II = (
    _PACKING,
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
        "jmleejake/csvProject SagawaVO.java",
        _NOTE,
    ),
    CodeTable(
        "便種（商品）",
        {"001": "指定なし", "002": "クール冷蔵", "003": "クール冷凍"},
        "jmleejake/csvProject SagawaVO.java",
    ),
    _TIME,
    CodeTable(
        "指定シール",
        {"005": "指定日配達"},
        "plugaid/PAEhidenUtills (指定シール① 005 when 配達日 is set)",
        "e飛伝IIの時間帯シールのコードは未確認（e飛伝IIIは020–026）",
    ),
    CodeTable("元着区分", {"1": "元払", "2": "着払"}, "jmleejake/csvProject SagawaVO.java"),
)

CODES_III = (
    _PACKING,
    CodeTable("スピード指定", {"000": "飛脚宅配便"}, SOURCE_III, "000 以外の値は未確認"),
    CodeTable("クール便指定", {"001": "通常", "002": "クール冷蔵", "003": "クール冷凍"}, SOURCE_III),
    _TIME,
    CodeTable(
        "決済種別",
        {"0": "指定なし", "1": "全て可", "2": "現金のみ", "3": "デビット・クレジット"},
        SOURCE_III + " (代引の 0 は 1 として出力)",
    ),
    CodeTable(
        "指定シール",
        {
            "001": "飛脚クール便（冷蔵）",
            "002": "飛脚クール便（冷凍）",
            "004": "営業所受取サービス",
            "005": "指定日配達サービス",
            "008": "eコレクト（現金）",
            "009": "eコレクト（デビット／クレジット）",
            "010": "eコレクト（全て可能）",
            "011": "取扱注意",
            "012": "貴重品",
            "013": "天地無用",
            "017": "飛脚航空便",
            "018": "飛脚ジャストタイム便",
            "020": "時間帯指定（午前中）",
            "021": "時間帯指定（18–21時）",
            "022": "時間帯指定（12–14時）",
            "023": "時間帯指定（14–16時）",
            "024": "時間帯指定（16–18時）",
            "025": "時間帯指定（18–20時）",
            "026": "時間帯指定（19–21時）",
        },
        SOURCE_III,
    ),
    CodeTable("元着区分", {"1": "元払", "2": "着払"}, "jmleejake/csvProject SagawaVO.java", _NOTE),
)

# e飛伝II: 42 columns [SagawaVO.java; PAEhidenUtills $cols, same order].
_COLUMNS_II = (
    Column("住所録コード", 12),
    Column("お届け先電話番号", 14, Field.RECIPIENT_PHONE),
    # Without the hyphen: PAEhidenUtills writes order_zip01 || order_zip02.
    Column("お届け先郵便番号", 7, Field.RECIPIENT_POSTCODE_DIGITS),
    Column("お届け先住所1", 32, Field.RECIPIENT_ADDRESS_1),
    Column("お届け先住所2", 32, Field.RECIPIENT_ADDRESS_2),
    Column("お届け先住所3", 32, Field.RECIPIENT_ADDRESS_3),
    Column("お届け先名称1", 32, Field.RECIPIENT_NAME),
    Column("お届け先名称2", 32, Field.RECIPIENT_NAME_2),
    Column("お客様管理ナンバー", 16, Field.MANAGEMENT_KEY),
    Column("お客様コード", 12),
    Column("部署・担当者", 32),
    Column("荷送人電話番号", 14),
    Column("ご依頼主電話番号", 14, Field.SENDER_PHONE),
    Column("ご依頼主郵便番号", 7, Field.SENDER_POSTCODE_DIGITS),
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

# e飛伝III: 74 columns, names and order from WCEX Sagawa Number (the plugin labels two columns
# 「（必須）」 in its header; the plain names are the ones the other exporters and the
# 共通テンプレート use). お客様管理番号 is column 10.
_COLUMNS_III = (
    Column("お届け先コード取得区分", 1),
    Column("お届け先コード", 20),
    Column("お届け先電話番号", 14, Field.RECIPIENT_PHONE),
    Column("お届け先郵便番号", 7, Field.RECIPIENT_POSTCODE_DIGITS),
    Column("お届け先住所１", 32, Field.RECIPIENT_ADDRESS_1),
    Column("お届け先住所２", 32, Field.RECIPIENT_ADDRESS_2),
    Column("お届け先住所３", 32, Field.RECIPIENT_ADDRESS_3),
    Column("お届け先名称１", 32, Field.RECIPIENT_NAME),
    Column("お届け先名称２", 32, Field.RECIPIENT_NAME_2),
    Column("お客様管理番号", 16, Field.MANAGEMENT_KEY),
    Column("お客様コード", 12),
    Column("部署ご担当者コード取得区分", 1),
    Column("部署ご担当者コード", 20),
    Column("部署ご担当者名称", 32),
    Column("荷送人電話番号", 14),
    Column("ご依頼主コード取得区分", 1),
    Column("ご依頼主コード", 20),
    Column("ご依頼主電話番号", 14, Field.SENDER_PHONE),
    Column("ご依頼主郵便番号", 7, Field.SENDER_POSTCODE_DIGITS),
    Column("ご依頼主住所１", 32, Field.SENDER_ADDRESS_1),
    Column("ご依頼主住所２", 32, Field.SENDER_ADDRESS_2),
    Column("ご依頼主名称１", 32, Field.SENDER_NAME),
    Column("ご依頼主名称２", 32),
    Column("荷姿", 3, value="001"),
    Column("品名１", 32, Field.ITEM_1, truncate=True),
    Column("品名２", 32, Field.ITEM_2, truncate=True),
    Column("品名３", 32, Field.ITEM_3, truncate=True),
    Column("品名４", 32, Field.ITEM_4, truncate=True),
    Column("品名５", 32, Field.ITEM_5, truncate=True),
    Column("荷札荷姿", 3),
    *(
        Column(f"荷札品名{n}", 32)
        for n in ("１", "２", "３", "４", "５", "６", "７", "８", "９", "１０", "１１")
    ),
    Column("出荷個数", 3, value="1"),
    Column("スピード指定", 3, value="000"),
    Column("クール便指定", 3, value="001"),
    Column("配達日", 8),
    Column("配達指定時間帯", 2),
    Column("配達指定時間（時分）", 4),
    Column("代引金額", 7, Field.COD_AMOUNT),
    Column("消費税", 7),
    # WCEX Sagawa Number writes 決済種別 only on 代引 rows (its setting, 0 → 1 全て可).
    Column("決済種別", 1, cod_value="1"),
    Column("保険金額", 7),
    Column("指定シール１", 3),
    Column("指定シール２", 3),
    Column("指定シール３", 3),
    Column("営業所受取", 1),
    Column("SRC区分", 1),
    Column("営業所受取営業所コード", 4),
    Column("元着区分", 1, value="1"),
    Column("メールアドレス", 60),
    Column("ご不在時連絡先", 14),
    Column("出荷日", 8),
    Column("お問い合せ送り状No.", 12),
    Column("出荷場印字区分", 1),
    Column("集約解除指定", 1),
    *(
        Column(f"編集{n}")
        for n in ("０１", "０２", "０３", "０４", "０５", "０６", "０７", "０８", "０９", "１０")
    ),
)


EHIDEN2 = Layout(
    key="sagawa_ehiden2",
    name="佐川 e飛伝II",
    carrier="佐川急便",
    header=True,
    columns=_COLUMNS_II,
    codes=CODES_II,
    key_column="お客様管理ナンバー",
    key_limit=16,
    address_widths=(32, 32, 32),
    sender_address_widths=(32, 32),
    name_widths=(32, 32),
    zenkaku=True,
    methods=Methods(default="飛脚宅配便", codes={"飛脚宅配便": ""}, cod_codes={"飛脚宅配便": ""}),
    source=SOURCE_II,
    notes=(
        "e飛伝IIで取込レイアウト（見出し1行・42項目）を一度登録してください",
        "住所・名称・品名は全角に変換し、全角16文字ずつの欄に分けて入れます",
        "⚠ " + _NOTE + "（お客様管理ナンバーの16桁上限を含む）",
    ),
)

EHIDEN3 = Layout(
    key="sagawa_ehiden3",
    name="佐川 e飛伝III",
    carrier="佐川急便",
    header=True,
    columns=_COLUMNS_III,
    codes=CODES_III,
    key_column="お客様管理番号",
    key_limit=16,
    address_widths=(32, 32, 32),
    sender_address_widths=(32, 32),
    name_widths=(32, 32),
    zenkaku=True,
    methods=Methods(default="飛脚宅配便", codes={"飛脚宅配便": ""}, cod_codes={"飛脚宅配便": ""}),
    source=SOURCE_III,
    notes=(
        "e飛伝IIIでは共通テンプレート「標準_飛脚宅急便_CSV_ヘッダ有り」（74項目）を選んでください",
        "住所・名称・品名は全角に変換し、全角16文字ずつの欄に分けて入れます",
        "⚠ " + _NOTE + "（出荷日・荷札品名は空欄で出力）",
    ),
)


# e飛伝II 出荷履歴 (53 columns): お問合せ送り状No (index 0), 出荷日時 (1), 住所録コード, お届け先
# 電話番号, 郵便番号, 住所1–3, お届け先ＪＩＳコード (8), 名称1–2, グループ名 (11), お客様管理ナンバー
# (12), … 削除区分 (52) [jmleejake NewSagawaVO.java @CsvBindByPosition; PAEhidenUtills
# Admin_Order_Import setCsvData reads $data[0] and $data[12] after a header row].
HISTORY = TrackingFormat(
    "ehiden2_history",
    "佐川 e飛伝II 出荷履歴",
    "佐川急便",
    12,
    0,
    key_names=("お客様管理ナンバー",),
    tracking_names=("お問合せ送り状No", "お問合せ送り状No.", "お問い合せ送り状No.", "お問い合せ送り状No"),
    note="見出しの「お客様管理ナンバー」「お問合せ送り状No」で照合（見出しなしは13列目・1列目）",
    width=53,
)

# e飛伝III 出荷データ: WCEX Sagawa Number register_tracking_number reads 荷物配送番号 at index 0,
# 出荷日付 at 2 and its お客様管理番号 at 18, on every line whose first cell is a number (so a
# header line is skipped). ⚠ The export's full column list and width are not in any source.
EXPORT_III = TrackingFormat(
    "ehiden3_export",
    "佐川 e飛伝III 出荷データ",
    "佐川急便",
    18,
    0,
    key_names=("お客様管理番号",),
    tracking_names=("お問い合せ送り状No.", "お問い合せ送り状No", "お問合せ送り状No", "お問合せ送り状No."),
    note="⚠ 見出しなしは19列目（お客様管理番号）・1列目（送り状No）。列の全体は未確認",
)
