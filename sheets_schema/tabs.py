"""The workbook's contract as data: one ``TabSpec`` per tab, in the order staff see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import NoneType
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel

from sheets_schema import models


def _is_integer(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if annotation is int:
        return True
    return any(_is_integer(a) for a in get_args(annotation) if a is not NoneType)


@dataclass(frozen=True)
class TabSpec:
    title: str
    model: type[BaseModel]
    key: tuple[str, ...]
    # Columns people edit; the rest are written by Ichigen (sync, allocation, logs).
    staff_columns: frozenset[str]
    help: str
    hidden: bool = False
    # Ledgers and logs only ever grow: rows are appended, never changed.
    append_only: bool = False
    # Rows a new tab starts with ({header: value}), so no two writers ever race to add them.
    initial_rows: tuple[dict[str, str], ...] = ()
    # Columns the contract gained after the tab's first version. A tab without them still reads
    # (their cells count as blank, writes to them wait) until Ichigen adds them at the end of its
    # header (sheets_schema.book.ensure_columns); any other missing column is a header problem.
    added_columns: frozenset[str] = frozenset()
    headers: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        headers = tuple(f.alias or name for name, f in self.model.model_fields.items())
        object.__setattr__(self, "headers", headers)
        unknown = (set(self.key) | self.staff_columns | self.added_columns) - set(headers)
        if unknown:
            raise ValueError(f"{self.title}: unknown columns {sorted(unknown)}")

    def initial_cells(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(row.get(h, "") for h in self.headers) for row in self.initial_rows)

    @property
    def typed_by_people(self) -> bool:
        """Tabs people type into: where input errors come from, checked on every ホーム view."""
        return bool(self.staff_columns) and not self.hidden

    @property
    def machine_owned(self) -> bool:
        """Tabs only Ichigen writes (ledger, logs, per-line state, send records, its own hidden
        state): what a shop that outgrew one spreadsheet keeps on a database server while staff
        go on editing the other tabs in Google Sheets (see sheets_schema/adapters/hybrid.py)."""
        return self.hidden or not self.staff_columns

    @property
    def system_columns(self) -> tuple[str, ...]:
        return tuple(h for h in self.headers if h not in self.staff_columns)

    @property
    def integer_columns(self) -> frozenset[str]:
        """Columns holding yen or quantities: exported as numbers, compared as numbers."""
        return frozenset(
            f.alias or name for name, f in self.model.model_fields.items() if _is_integer(f.annotation)
        )

    def field_name(self, header: str) -> str:
        for name, f in self.model.model_fields.items():
            if (f.alias or name) == header:
                return name
        raise KeyError(header)


PRODUCTS = TabSpec(
    title="商品",
    model=models.Product,
    key=("SKU",),
    staff_columns=frozenset(models.Product.model_fields[n].alias for n in models.Product.model_fields),
    help="販売する商品の一覧です。SKUごとに1行。価格や発注点、棚番（置き場所）はここで編集します。",
    added_columns=frozenset({"棚番"}),
)
STOCK = TabSpec(
    title="在庫",
    model=models.Stock,
    key=("SKU",),
    staff_columns=frozenset({"SKU", "実在庫", "安全在庫"}),
    help=(
        "SKUごとの在庫です。実在庫と安全在庫を編集すると、販売可能数が各モールへ反映されます。"
        "不良在庫（売れない返品・不良品）は実在庫に含みません。"
    ),
    added_columns=frozenset({"不良在庫"}),
)
MALL_LISTINGS = TabSpec(
    title="モール商品",
    model=models.MallListing,
    # A mall's listing is one row; a SKU may be sold under several listings of one mall.
    key=("モール", "モール商品コード", "モールSKU"),
    staff_columns=frozenset(
        models.MallListing.model_fields[n].alias for n in models.MallListing.model_fields
    ),
    help=(
        "各モールの商品コードと自社SKUの対応表です。在庫連携をOFFにするとそのモールへ在庫を送りません。"
        "モール商品名・販売価格（モール）が空欄なら、商品シートの商品名・販売価格を「商品登録」でモールへ送ります。"
        "キャッチコピー・商品説明・タグは入力したものだけ送ります（空欄ならモールの内容のまま）。"
        "タグはカンマ区切りです（Shopifyは言葉、楽天はタグIDの数字）。"
        "カテゴリは楽天のジャンルID・Amazonの商品タイプ・Yahoo!のプロダクトカテゴリです。"
    ),
    added_columns=frozenset(
        {"モール商品名", "販売価格（モール）", "キャッチコピー", "商品説明", "カテゴリ", "タグ"}
    ),
)
SET_COMPONENTS = TabSpec(
    title="セット構成",
    model=models.SetComponent,
    key=("セットSKU", "構成SKU"),
    staff_columns=frozenset({"セットSKU", "構成SKU", "数量", "メモ"}),
    help=(
        "セット商品の中身です。セットSKU（商品シートにある、セットとして売るSKU）ごとに、"
        "構成SKUとセット1つあたりの数量を1行ずつ入力します。セットは自分の在庫を持たず、"
        "販売可能数は構成SKUの販売可能数から計算して各モールへ送ります。売れると構成SKUを引き当てます。"
    ),
)
SALES = TabSpec(
    title="セール",
    model=models.Sale,
    key=("SKU", "モール", "開始日時"),
    staff_columns=frozenset(models.Sale.model_fields[n].alias for n in models.Sale.model_fields),
    help=(
        "セール（楽天スーパーSALE・タイムセールなど）の間、各モールへ送る在庫数の決め方です。"
        "SKU・モールが空欄（またはすべて）なら全部が対象。配分ONで販売可能数をモールごとに分け"
        "（売れたモールに多く）、しきい値より少なくなったら一番売れているモールだけで販売し、"
        "売れ行きバッファONで売れ行きの遅い商品はほかのモールにも出します。同期間隔秒でセール中の同期を速めます。"
    ),
)
SALE_TALLIES = TabSpec(
    title="_セール実績",
    model=models.SaleTally,
    key=("SKU", "モール"),
    staff_columns=frozenset(),
    help="セール中にモールごとに売れた数です。同期が注文と同時に更新します。編集しないでください。",
    hidden=True,
)
ORDERS = TabSpec(
    title="受注",
    model=models.Order,
    key=("モール", "注文番号"),
    staff_columns=frozenset({"ステータス", "備考", "配送会社", "配送方法", "追跡番号", "タグ", "同梱"}),
    help=(
        "全モールの注文です。同期で取り込まれます。ステータス・備考・配送会社・配送方法・追跡番号・タグは編集できます。"
        "配送方法（宅急便・宅急便コンパクト・ネコポス・クロネコゆうパケット・飛脚宅配便・ゆうパック・クリックポスト）は"
        "送り状データの種類になります（空欄なら配送会社の通常の荷物）。"
        "「ルール」は受注ルールが変えた内容の記録です。"
        "同梱は1つの箱で送る注文のまとまり（出荷画面で確定・解除します）。"
    ),
    added_columns=frozenset({"タグ", "ルール", "同梱", "配送方法"}),
)
ORDER_RULES = TabSpec(
    title="受注ルール",
    model=models.OrderRule,
    key=("ルール名",),
    staff_columns=frozenset(h for h in (f.alias for f in models.OrderRule.model_fields.values()) if h),
    help=(
        "取り込んだ注文に自動で行う処理です。順番の小さいルールから、条件（空欄は問わない）に合う注文に、"
        "ステータス・タグ・配送会社・メールを適用します。「ここで終了」がONのルールに合うと、後のルールは見ません。"
        "受注ボードの「ルール」タブで、ONにする前に過去の注文での結果を確かめられます。"
    ),
    added_columns=frozenset({"初回購入", "配送方法にする"}),
    initial_rows=(
        {
            "順番": "1",
            "ルール名": "備考あり→保留",
            "有効": "OFF",
            "備考": "あり",
            "ステータスにする": "保留",
            "保留理由": "備考の内容を確認",
        },
        {
            "順番": "2",
            "ルール名": "高額の代引",
            "有効": "OFF",
            "支払方法": "代金引換",
            "金額（以上）": "30000",
            "タグを付ける": "高額代引",
        },
        {
            "順番": "3",
            "ルール名": "沖縄・離島",
            "有効": "OFF",
            "都道府県": "沖縄県",
            "タグを付ける": "離島",
            "配送会社にする": "日本郵便",
        },
    ),
)
RULE_ACTIONS = TabSpec(
    title="_ルール適用",
    model=models.RuleAction,
    key=("適用ID",),
    staff_columns=frozenset(),
    help="受注ルールが注文に行った変更と、その取り消しの記録です（元に戻すために使います）。編集しないでください。",
    hidden=True,
)
ORDER_LINES = TabSpec(
    title="受注明細",
    model=models.OrderLine,
    key=("モール", "注文番号", "明細番号"),
    staff_columns=frozenset(),
    help="注文ごとの商品明細です。同期で取り込まれます。",
)
STOCK_MOVEMENTS = TabSpec(
    title="在庫移動",
    model=models.StockMovement,
    key=("移動ID",),
    staff_columns=frozenset(),
    help="在庫の増減の記録（台帳）です。追記のみで、過去の行は変更しません。",
    append_only=True,
)
SYNC_LOG = TabSpec(
    title="同期ログ",
    model=models.SyncLog,
    key=("実行ID", "モール", "処理"),
    staff_columns=frozenset(),
    help="モールとの同期の実行結果です。1回の実行・モールごとに1行追記されます。",
    append_only=True,
)
SYSTEM_STATE = TabSpec(
    title="_システム",
    model=models.SystemState,
    key=("キー",),
    staff_columns=frozenset(),
    help="Ichigenが内部で使う状態（同期カーソルなど）です。編集しないでください。",
    hidden=True,
    initial_rows=({"キー": "同期リース", "値": ""},),
)

STOCK_RECORDS = TabSpec(
    title="_在庫記録",
    model=models.StockRecord,
    key=("SKU",),
    staff_columns=frozenset(),
    help="Ichigenが最後に在庫シートへ書いた実在庫と安全在庫です。スタッフの変更を見分けるために使います。",
    hidden=True,
)
LEDGER_BALANCES = TabSpec(
    title="_台帳集計",
    model=models.LedgerBalance,
    key=("SKU",),
    staff_columns=frozenset(),
    help="在庫移動の台帳のSKUごとの合計です。同期が台帳と同時に更新します。編集しないでください。",
    hidden=True,
    added_columns=frozenset({"不良在庫"}),
)
ORDER_SETTLEMENTS = TabSpec(
    title="_受注在庫",
    model=models.OrderSettlement,
    key=("モール", "注文番号"),
    staff_columns=frozenset(),
    help="注文ごとに、在庫移動の台帳に反映済みの内容です。同期が台帳と同時に更新します。編集しないでください。",
    hidden=True,
)
LISTING_SENDS = TabSpec(
    title="_出品送信",
    model=models.ListingSend,
    key=("送信ID",),
    staff_columns=frozenset(),
    help="「商品登録」で各モールへ送った商品名・価格・説明と、モールの結果（エラーはモールの文言のまま）です。追記のみ。",
    hidden=True,
    append_only=True,
)
STOCK_PUSHES = TabSpec(
    title="_在庫送信",
    model=models.StockPush,
    key=("モール", "モール商品コード", "モールSKU"),
    staff_columns=frozenset(),
    help="各モールの商品ページへ最後に送った在庫数と、その結果です。",
    hidden=True,
)
STOCK_DRIFTS = TabSpec(
    title="_在庫照合",
    model=models.StockDrift,
    key=("モール", "モール商品コード", "モールSKU"),
    staff_columns=frozenset(),
    help=(
        "在庫照合で、モールに表示されている在庫数が Ichigen の数と違った出品と、その原因です。"
        "同期ページで直せます。編集しないでください。"
    ),
    hidden=True,
)

_SIGNATURE = """
──────────────────
{{ ショップ名 }}
このメールにご返信いただければ、担当者よりご連絡いたします。
──────────────────"""

MAIL_TEMPLATES = TabSpec(
    title="メールテンプレート",
    model=models.MailTemplate,
    key=("テンプレート名",),
    staff_columns=frozenset(
        {
            "テンプレート名",
            "件名",
            "本文",
            "送信タイミング日数",
            "送信タイミング",
            "有効",
            "自動送信",
            "送信時間帯",
            "除外モール",
            "除外タグ",
        }
    ),
    help=(
        "お客様へ送るメールの文面です。{{ 注文番号 }} {{ 購入者名 }} {{ 商品一覧 }} {{ 配送会社 }} "
        "{{ 追跡番号 }} {{ 追跡URL }} {{ ショップ名 }} が注文ごとの内容に置き換わります。"
        "送信タイミングは、取込（注文を取り込んだとき）・入金確認（発送待ちになったとき）・"
        "発送（追跡番号を入れて出荷済になったとき）・発送後（発送から「送信タイミング日数」日後）のどれかです。"
        "行を足せば、レビューのお願いなど自分のテンプレートも作れます（送信タイミングを入れてください。"
        "最初からある4つは空欄ならそれぞれの時点）。有効をOFFにすると送りません。"
        "自動送信をONにすると、ONにした後にその送信タイミングになった注文へ、"
        "送信時間帯（例 9:00-20:00。空欄は 9:00-20:00、終日は 0:00-24:00）の間に同期が自動で送ります。除外モールには送りません（Amazon には常に送りません）。"
        "除外タグ（例 クレーム対応中）のどれかが受注の「タグ」にある注文にも自動では送りません。"
    ),
    added_columns=frozenset({"自動送信", "送信時間帯", "除外モール", "除外タグ", "送信タイミング"}),
    initial_rows=(
        {
            "テンプレート名": "サンクスメール",
            "件名": "【{{ ショップ名 }}】ご注文ありがとうございます（注文番号：{{ 注文番号 }}）",
            "本文": """{{ 購入者名 }} 様

このたびは{{ ショップ名 }}をご利用いただき、誠にありがとうございます。
以下の内容でご注文を承りました。

■注文番号：{{ 注文番号 }}
■ご注文内容
{{ 商品一覧 }}

商品の発送準備が整いましたら、あらためてご連絡いたします。
今しばらくお待ちくださいませ。
"""
            + _SIGNATURE,
            "送信タイミング日数": "",
            "送信タイミング": "取込",
            "有効": "ON",
            "自動送信": "OFF",
            "送信時間帯": "9:00-20:00",
            "除外モール": "",
            "除外タグ": "",
        },
        {
            "テンプレート名": "入金確認",
            "件名": "【{{ ショップ名 }}】ご入金を確認いたしました（注文番号：{{ 注文番号 }}）",
            "本文": """{{ 購入者名 }} 様

{{ ショップ名 }}です。
ご注文（注文番号：{{ 注文番号 }}）のご入金を確認いたしました。
お手続きいただき、誠にありがとうございます。

■ご注文内容
{{ 商品一覧 }}

これより発送の準備に入ります。発送いたしましたら、あらためてご連絡いたします。
"""
            + _SIGNATURE,
            "送信タイミング日数": "",
            "送信タイミング": "入金確認",
            "有効": "ON",
            "自動送信": "OFF",
            "送信時間帯": "9:00-20:00",
            "除外モール": "",
            "除外タグ": "",
        },
        {
            "テンプレート名": "発送連絡",
            "件名": "【{{ ショップ名 }}】ご注文の商品を発送いたしました（注文番号：{{ 注文番号 }}）",
            "本文": """{{ 購入者名 }} 様

{{ ショップ名 }}です。
ご注文いただいた商品を発送いたしましたので、お知らせいたします。

■注文番号：{{ 注文番号 }}
■配送会社：{{ 配送会社 }}
■お問い合わせ番号：{{ 追跡番号 }}
■配送状況の確認：{{ 追跡URL }}
※配送会社のシステムに反映されるまで、お時間がかかる場合がございます。

■発送した商品
{{ 商品一覧 }}

商品の到着まで、今しばらくお待ちくださいませ。
"""
            + _SIGNATURE,
            "送信タイミング日数": "",
            "送信タイミング": "発送",
            "有効": "ON",
            "自動送信": "OFF",
            "送信時間帯": "9:00-20:00",
            "除外モール": "",
            "除外タグ": "",
        },
        {
            "テンプレート名": "フォローメール",
            "件名": "【{{ ショップ名 }}】商品はお手元に届きましたでしょうか",
            "本文": """{{ 購入者名 }} 様

先日は{{ ショップ名 }}でお買い求めいただき、誠にありがとうございました。
商品はお手元に届きましたでしょうか。

■注文番号：{{ 注文番号 }}
{{ 商品一覧 }}

お使いになってのご感想を、ぜひレビューでお聞かせください。
商品に不具合などがございましたら、お手数ですがこのメールにご返信ください。
またのご利用を心よりお待ちしております。
"""
            + _SIGNATURE,
            "送信タイミング日数": "7",
            "送信タイミング": "発送後",
            "有効": "ON",
            "自動送信": "OFF",
            "送信時間帯": "10:00-19:00",
            "除外モール": "",
            "除外タグ": "",
        },
    ),
)
MAIL_LOG = TabSpec(
    title="メール送信履歴",
    model=models.MailLog,
    # One row per mail; 状態 is updated in place (送信中 → 送信済 / 失敗), so not append_only.
    key=("テンプレート名", "モール", "注文番号"),
    staff_columns=frozenset(),
    help=(
        "お客様へ送ったメールの記録です。注文ごと・テンプレートごとに1行。"
        "仕入先へ送った発注書は テンプレート名「発注書」・モール「発注」・注文番号＝発注番号 の行です。"
        "「要確認」の行（送信が途中で止まり、届いたか分からないもの）は自動では再送しません。"
        "確認して再送するときは、その行を削除してください。"
    ),
)

SUPPLIERS = TabSpec(
    title="仕入先",
    model=models.Supplier,
    key=("仕入先",),
    staff_columns=frozenset(models.Supplier.model_fields[n].alias for n in models.Supplier.model_fields),
    help="商品の仕入先です。商品シートの「仕入先」列と同じ名前で1行。発注書の送り先とリードタイムの既定値です。",
)
PURCHASE_ORDERS = TabSpec(
    title="発注",
    model=models.PurchaseOrder,
    key=("発注番号",),
    staff_columns=frozenset({"発注番号", "仕入先", "発注日", "入荷予定日", "ステータス", "備考"}),
    help=(
        "仕入先への発注です。ステータスは 下書き → 発注済 → 一部入荷 → 入荷済（入荷の登録で自動）、"
        "やめたときはキャンセル。明細は発注明細シートにあります。"
    ),
)
PURCHASE_ORDER_LINES = TabSpec(
    title="発注明細",
    model=models.PurchaseOrderLine,
    key=("発注番号", "明細番号"),
    staff_columns=frozenset({"発注番号", "明細番号", "SKU", "数量", "単価", "備考"}),
    help="発注ごとの商品と数量・単価（原価）です。入荷数は入荷の登録で Ichigen が書きます。",
)

TABS: tuple[TabSpec, ...] = (
    PRODUCTS,
    STOCK,
    MALL_LISTINGS,
    SET_COMPONENTS,
    ORDERS,
    ORDER_LINES,
    ORDER_RULES,
    STOCK_MOVEMENTS,
    SYNC_LOG,
    SYSTEM_STATE,
    STOCK_RECORDS,
    STOCK_PUSHES,
    MAIL_TEMPLATES,
    MAIL_LOG,
    SUPPLIERS,
    PURCHASE_ORDERS,
    PURCHASE_ORDER_LINES,
    LEDGER_BALANCES,
    ORDER_SETTLEMENTS,
    RULE_ACTIONS,
    SALES,
    SALE_TALLIES,
    LISTING_SENDS,
    STOCK_DRIFTS,
)
TAB_BY_TITLE: dict[str, TabSpec] = {spec.title: spec for spec in TABS}


def machine_owned(title: str) -> bool:
    """Whether a tab is one only Ichigen writes (staff's own tabs are not)."""
    spec = TAB_BY_TITLE.get(title)
    return spec is not None and spec.machine_owned
