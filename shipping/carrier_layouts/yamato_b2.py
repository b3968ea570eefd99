"""ヤマト運輸 B2クラウド: the 外部データ取込 layout (97 columns, header row) and the 発行済データ
export that brings the 伝票番号 back. Sources below; ⚠ marks what no source confirms."""

from __future__ import annotations

from shipping.carrier_layouts.schema import CodeTable, Column, Field, Layout, Methods, TrackingFormat

SOURCE = (
    "aiship manual『CSVレイアウト（ヤマトB2形式）』; jmleejake/csvProject NewYamatoVO.java; "
    "labocho/yamato_b2_cloud lib/yamato_b2_cloud/record.rb (column numbers from the official "
    "new_exchange1.pdf, validations); skoji/stores-to-b2cloud src/main.js, index.html"
)
# Codes as current production code writes them (2023–25 service changes included): public B2
# integrations list 0 発払い, 2 コレクト, 3 クロネコゆうメール, 4 タイム, 5 着払い, 6 発払い（複数口）,
# 7 クロネコゆうパケット, 8 宅急便コンパクト, 9 コンパクトコレクト, A ネコポス (several independent
# TypeScript/Apps Script B2 exporters, e.g. a GAS validateYamatoCsv "B2公式" list). Older code
# (stores-to-b2cloud index.html, the old PDF) still has 7 = ネコポス: that was before ネコポス moved.
_TYPE_SOURCE = SOURCE + "; current codes from public B2 exporters (validateYamatoCsv 'B2公式')"

CODES = (
    CodeTable(
        "送り状種類",
        {
            "0": "発払い",
            "2": "コレクト",
            "3": "クロネコゆうメール（旧DM便）",
            "4": "タイム",
            "5": "着払い",
            "6": "発払い（複数口）",
            "7": "クロネコゆうパケット",
            "8": "宅急便コンパクト",
            "9": "宅急便コンパクトコレクト",
            "A": "ネコポス",
        },
        _TYPE_SOURCE,
        "6・7・A は公開コードどうしで一致（公式PDFは未入手）。Ichigen が書くのは 0・2・7・8・9・A（受注の配送方法から）",
    ),
    CodeTable("クール区分", {"0": "通常", "1": "冷凍", "2": "冷蔵"}, SOURCE),
    CodeTable(
        "配達時間帯",
        {
            "": "指定なし",
            "0812": "午前中",
            "1416": "14–16時",
            "1618": "16–18時",
            "1820": "18–20時",
            "1921": "19–21時",
            "0010": "タイム 10時まで",
            "0017": "タイム 17時まで",
        },
        # labocho record.rb DELIVERY_TIME (0812, 1416, 1618, 1820, 1921); 0010/0017 (タイム) from
        # the same public exporters as 送り状種類. 1214 and 2021 were withdrawn in Yamato's 2017
        # time-slot change and no current code writes them.
        _TYPE_SOURCE,
        "0010/0017（タイム）は公開コードのみで確認",
    ),
)

_NAMED = (
    Column("お客様管理番号", 20, Field.MANAGEMENT_KEY),
    Column("送り状種類", 1, value="0", cod_value="2"),  # 0 発払い, 2 コレクト (CODES)
    Column("クール区分", 1, value="0"),
    Column("伝票番号", 12),
    Column("出荷予定日", 10, Field.SHIP_DATE),
    Column("お届け予定（指定）日", 10),
    Column("配達時間帯", 4),
    Column("お届け先コード", 20),
    Column("お届け先電話番号", 15, Field.RECIPIENT_PHONE),
    Column("お届け先電話番号枝番", 2),
    Column("お届け先郵便番号", 8, Field.RECIPIENT_POSTCODE),
    Column("お届け先住所", 64, Field.RECIPIENT_ADDRESS_1),
    Column("お届け先住所（アパートマンション名）", 32, Field.RECIPIENT_ADDRESS_2),
    Column("お届け先会社・部門名１", 50),
    Column("お届け先会社・部門名２", 50),
    Column("お届け先名", 32, Field.RECIPIENT_NAME),
    Column("お届け先名略称カナ", 50),
    Column("敬称", 4, value="様"),
    Column("ご依頼主コード", 20),
    Column("ご依頼主電話番号", 15, Field.SENDER_PHONE),
    Column("ご依頼主電話番号枝番", 2),
    Column("ご依頼主郵便番号", 8, Field.SENDER_POSTCODE),
    Column("ご依頼主住所", 64, Field.SENDER_ADDRESS_1),
    Column("ご依頼主住所（アパートマンション名）", 32, Field.SENDER_ADDRESS_2),
    Column("ご依頼主名", 32, Field.SENDER_NAME),
    Column("ご依頼主略称カナ", 50),
    Column("品名コード１", 30),
    Column("品名１", 50, Field.ITEMS_SUMMARY, truncate=True),
    Column("品名コード２", 30),
    Column("品名２", 50),
    Column("荷扱い１", 20),
    Column("荷扱い２", 20),
    Column("記事", 44, truncate=True),
    Column("コレクト代金引換額（税込）", 7, Field.COD_AMOUNT),
    # Required on コレクト rows (labocho record.rb validate_collect_amount: > 0 when COLLECT).
    Column("コレクト内消費税額等", 7, Field.COD_TAX),
    Column("営業所止置き", 1),
    Column("営業所コード", 6),
    Column("発行枚数", 2, value="1"),
    Column("個数口枠の印字", 1),
    # Required (labocho: presence, 10–12 digits / 2 digits; stores-to-b2cloud asks for both),
    # unless the account's 取込パターン fixes them: from settings [carriers.yamato].
    Column("ご請求先顧客コード", 12, Field.BILLING_CUSTOMER_CODE),
    Column("ご請求先分類コード", 3, Field.BILLING_CLASS_CODE),
    Column("運賃管理番号", 2, Field.FREIGHT_NUMBER),
    Column("クロネコwebコレクト データ登録", 1),
)

# Columns 44–97: named by the documented groups only (⚠ exact names not checked); left blank.
_REST = (
    "クロネコwebコレクト 加盟店番号",
    *(f"クロネコwebコレクト 申込受付番号{i}" for i in (1, 2, 3)),
    "お届け予定eメール 利用区分",
    "お届け予定eメール アドレス",
    "お届け予定eメール 入力機種",
    "お届け予定eメール メッセージ",
    "お届け完了eメール 利用区分",
    "お届け完了eメール アドレス",
    "お届け完了eメール メッセージ",
    *(f"クロネコ収納代行 {i:02d}" for i in range(1, 20)),
    "複数口くくりキー",
    *(name for i in range(1, 6) for name in (f"検索キータイトル{i}", f"検索キー{i}")),
    "予備1",
    "予備2",
    *(f"投函予定・投函完了メール {i}" for i in range(1, 10)),
    "連携管理番号",
    "通知メールアドレス",
)

B2 = Layout(
    key="yamato_b2",
    name="ヤマト B2クラウド 外部データ取込",
    carrier="ヤマト運輸",
    header=True,
    columns=_NAMED + tuple(Column(n) for n in _REST),
    codes=CODES,
    key_column="お客様管理番号",
    key_limit=20,
    address_widths=(64, 32),
    sender_address_widths=(64, 32),
    account="yamato",
    # 送り状種類 by 配送方法 (CODES above): ネコポス and クロネコゆうパケット go to the mailbox and
    # collect no cash; 宅急便コンパクト's 代引 is コンパクトコレクト.
    methods=Methods(
        default="宅急便",
        codes={"宅急便": "0", "宅急便コンパクト": "8", "ネコポス": "A", "クロネコゆうパケット": "7"},
        cod_codes={"宅急便": "2", "宅急便コンパクト": "9"},
        column="送り状種類",
    ),
    source=SOURCE,
    notes=(
        "B2クラウドで取込パターン（1行目見出し・97項目）を一度登録してください",
        "ご請求先顧客コードと運賃管理番号は、設定ファイルに書いた値が入ります",
        "⚠ 44–97列の列名は資料の項目グループ名から付けたもの（公式PDF new_exchange1.pdf で未確認）。空欄で出力します",
    ),
)


# The 発行済データ export. Its columns follow the account's output settings (a shop may export
# 5 columns or 98), so with a header row they are found by name: お客様管理番号 and 伝票番号
# (the import names; skoji/stores-to-b2cloud and jmleejake NewYamatoVO use the same). Without a
# header, the import layout's positions: お客様管理番号 column 1, 伝票番号 column 4 (12 digits)
# [jmleejake NewYamatoVO; cart.e-shops.jp/faq/7249].
ISSUED = TrackingFormat(
    "b2_issued",
    "ヤマト B2クラウド 発行済データ",
    "ヤマト運輸",
    0,
    3,
    key_names=("お客様管理番号",),
    tracking_names=("伝票番号",),
    note="見出しの「お客様管理番号」「伝票番号」で照合（見出しなしは1列目・4列目）",
    width=None,
)
