"""日本郵便 ゆうプリR (ゆうパックプリントR): the standard import layout (118 positional columns, no
header) and the 発送履歴 export that brings the お問い合わせ番号 back. Sources below; ⚠ marks what
no source confirms."""

from __future__ import annotations

from shipping.carrier_layouts.schema import CodeTable, Column, Field, Layout, Methods, TrackingFormat


def _zen(n: int) -> str:
    """01 → ０１: the ゆうプリR names number their free columns in full-width digits."""
    return f"{n:02d}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))


# ゆうプリR standard layout: 118 positional columns, names from a public Shopify→ゆうプリR converter.
COLUMN_NAMES = (
    "お客様側管理番号",
    "発送予定日",
    "発送予定時間区分",
    "出荷期限日",
    "到着期限日",
    "郵便種別",
    "保冷種別",
    "元／着払／代引",
    "書留／セキュリティ／特定記録種別",
    "配達時間帯指定郵便種別",
    "送り状種別",
    "お届け先 コード",
    "お届け先 郵便番号",
    "お届け先 住所１",
    "お届け先 住所２",
    "お届け先 住所３",
    "お届け先 名称１",
    "お届け先 名称２",
    "お届け先 敬称区分",
    "お届け先 電話番号",
    "お届け先 メールアドレス１",
    "お届け先 局留め区分",
    "お届け先 局留め郵便局名",
    "お届け先 局留めメール使用区分",
    "お届け先 局留め郵便番号",
    "お届け先 配達予告メール使用区分",
    "お届け先 再配達予告メール使用区分",
    "ご依頼主 コード",
    "ご依頼主 集荷先と同一区分",
    "ご依頼主 郵便番号",
    "ご依頼主 住所１",
    "ご依頼主 住所２",
    "ご依頼主 住所３",
    "ご依頼主 名称１",
    "ご依頼主 名称２",
    "ご依頼主 敬称",
    "ご依頼主 電話番号",
    "ご依頼主 メールアドレス１",
    "ご依頼主 荷送人指図区分",
    "ご依頼主 お届け通知メール使用区分",
    "ご依頼主 お届け通知はがき使用区分",
    "集荷先 コード",
    "集荷先 連携可否区分",
    "集荷先 会社コード",
    "集荷先 依頼先店所コード",
    "集荷先 郵便番号",
    "集荷先 住所１",
    "集荷先 住所２",
    "集荷先 住所３",
    "集荷先 名称１",
    "集荷先 名称２",
    "集荷先 敬称",
    "集荷先 電話番号",
    "受注番号",
    "こわれもの区分",
    "なまもの区分",
    "ビン類区分",
    "逆さま厳禁区分",
    "下積み厳禁区分",
    "商品サイズ区分",
    "重量合計（ｇ）",
    "25kg超重量物区分",
    "損害要償額",
    "速達・配達日指定種別",
    "配達指定日／希望日",
    "配達時間帯区分",
    "差出方法区分",
    "ゆうパック複数個割引",
    "ゆうパック同一割引",
    "セット商品コード",
    "セット品名ラベル印字区分",
    "倉庫数",  # position 72: missing from the converter, present in a WMS export (row.put(72))
    "複数個口数",
    "記事名１",
    "記事名２",
    *(f"フリー項目{_zen(i)}" for i in range(1, 11)),
    "空港利用区分",
    "空港・局／支店名",
    "航空会社名",
    "利用便名",
    "レジャー区分",
    "プレー・搭乗日",
    "プレー・搭乗時間",
    "クラブ本数",
    "復路集貨日",
    "出荷先登録名",
    "集荷希望区分",
    "集荷日付",
    "集荷時間帯区分",
    "支店連携先選択用名称",
    "代引金額",
    "代引消費税金額",
    "送り状発行年月日",
    "商品番号",
    "品名",
    "個数",
    "重量（ｇ）",
    "単価",
    "金額",
    *(f"商品備考{_zen(i)}" for i in range(1, 11)),
)

SOURCE = (
    "standard 118-column positional layout: names from a public Shopify→ゆうプリR converter (117) plus "
    "倉庫数 at 72 and 50-byte address widths from a public WMS exporter (row.put(1..118)); "
    "codes from the Sokuhan ゆうパックプリントR CSV PDF copy (paperzz.com/doc/5322404)"
)

CODES = (
    CodeTable(
        "郵便種別",
        {
            "0": "ゆうパック",
            "1": "ゆうメール",
            "2": "定形",
            "3": "定形外",
            "5": "ポスパケット",
            "6": "宛名ラベル",
            "9": "ゆうパケット",
        },
        SOURCE,
        "ポスパケットは廃止済みのサービス。現行の一覧は未確認",
    ),
    CodeTable("保冷種別", {"0": "なし", "1": "チルド", "2": "冷凍"}, SOURCE),
    CodeTable("元／着払／代引", {"0": "元払", "1": "着払", "2": "代引"}, SOURCE),
    CodeTable(
        "送り状種別",
        {"1100780": "ゆうパック 元払（公開コンバーターでの使用例）"},
        "one public Shopify→ゆうプリR converter",
        "送り状（ラベル用紙）の種類で変わる。自分の用紙のコードを確認すること",
    ),
)

# What Ichigen writes; every other column is left blank.
_FIELDS = {
    "お客様側管理番号": Field.MANAGEMENT_KEY,
    "発送予定日": Field.SHIP_DATE,
    "お届け先 郵便番号": Field.RECIPIENT_POSTCODE_DIGITS,
    "お届け先 住所１": Field.RECIPIENT_ADDRESS_1,
    "お届け先 住所２": Field.RECIPIENT_ADDRESS_2,
    "お届け先 住所３": Field.RECIPIENT_ADDRESS_3,
    "お届け先 名称１": Field.RECIPIENT_NAME,
    "お届け先 電話番号": Field.RECIPIENT_PHONE_DIGITS,
    "ご依頼主 郵便番号": Field.SENDER_POSTCODE_DIGITS,
    "ご依頼主 住所１": Field.SENDER_ADDRESS_1,
    "ご依頼主 住所２": Field.SENDER_ADDRESS_2,
    "ご依頼主 住所３": Field.SENDER_ADDRESS_3,
    "ご依頼主 名称１": Field.SENDER_NAME,
    "ご依頼主 電話番号": Field.SENDER_PHONE_DIGITS,
    "受注番号": Field.ORDER_NUMBER,
    "代引金額": Field.COD_AMOUNT,
    "品名": Field.ITEMS_SUMMARY,
}
_FIXED = {
    "郵便種別": "0",
    "保冷種別": "0",
    "元／着払／代引": "0",
    "送り状種別": "1100780",
    "お届け先 敬称区分": "0",
    "複数個口数": "1",
    "個数": "1",
}
_COD_FIXED = {"元／着払／代引": "2"}
_LIMITS = {
    "お客様側管理番号": 20,
    "お届け先 住所１": 50,
    "お届け先 住所２": 50,
    "お届け先 住所３": 50,
    "ご依頼主 住所１": 50,
    "ご依頼主 住所２": 50,
    "ご依頼主 住所３": 50,
    "お届け先 名称１": 50,
    "ご依頼主 名称１": 50,
    "品名": 50,
    "受注番号": 40,
    "お届け先 電話番号": 13,
    "ご依頼主 電話番号": 13,
    "お届け先 郵便番号": 7,
    "ご依頼主 郵便番号": 7,
}

YUPRI = Layout(
    key="yupri_r",
    name="日本郵便 ゆうプリR（標準118項目）",
    carrier="日本郵便",
    header=False,
    columns=tuple(
        Column(
            n,
            _LIMITS.get(n),
            _FIELDS.get(n),
            value=_FIXED.get(n, ""),
            cod_value=_COD_FIXED.get(n),
            truncate=n in ("品名", "受注番号"),
        )
        for n in COLUMN_NAMES
    ),
    codes=CODES,
    key_column="お客様側管理番号",
    key_limit=20,
    address_widths=(50, 50, 50),
    sender_address_widths=(50, 50, 50),
    methods=Methods(default="ゆうパック", codes={"ゆうパック": ""}, cod_codes={"ゆうパック": ""}),
    source=SOURCE,
    notes=(
        "見出しなし・位置固定の標準レイアウト（118項目）です。99項目（future-shop）や100項目（V3）とは別物",
        "⚠ お客様側管理番号の桁数上限（20と仮定）は未確認。住所は1欄50バイト（公開コードより）",
        "⚠ 送り状種別 1100780 は公開コードでの一例。用紙に合わせて確認してください",
    ),
)


# The 発送履歴 export (not 発送予定) with a user-defined output layout. A real export seen in public
# code: CP932, header row, CRLF, 6 columns (お客様側管理番号, お問い合わせ番号, 仮引受確定作業年月日,
# 配送完了作業年月日, 配達ステータス集約コード, 配達ステータス明細コード): found by header name, and
# without a header by those positions (⚠ the headerless variant is an assumption).
HISTORY = TrackingFormat(
    "yupri_history",
    "ゆうプリR 発送履歴",
    "日本郵便",
    0,
    1,
    key_names=("お客様側管理番号",),
    tracking_names=("お問い合わせ番号",),
    note="見出しの「お客様側管理番号」「お問い合わせ番号」の列で照合（見出しなしは1列目・2列目）",
    width=6,
)
