"""Carrier label files (送り状データ): each carrier's import layout kept as data.

A ``Layout`` names its columns in order, with a byte limit (CP932 bytes: 全角 = 2) and how each
cell is filled from an order. Code tables carry their source and a ⚠ note when the code is not
confirmed against the carrier's current official spec: correct them here, nowhere else.

Files are written in CP932 with CRLF. Rules applied to every cell:

* A character CP932 cannot hold raises ``LabelFileError`` naming the order and the column.
* A cell that would start a formula when opened in Excel (``= + - @``, tab, CR) gets a
  full-width space (U+3000) in front. We chose the full-width space over an apostrophe because
  the label software prints cells as-is: a leading 全角スペース is invisible on a label, an
  apostrophe is not. Tabs and line breaks inside a cell become a half-width space.
* The order's management key (``order_key``) goes into the layout's management-number column,
  so the issued tracking numbers can be matched back (``key_map`` reverses it).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine

# The orders and lines a label file is built from: the same reading as the 納品書.
from shipping.documents import orders_with_lines
from vocabulary.text import FORMULA_NEUTRALISER, neutralise_formula

# One rule for every file staff open in Excel (vocabulary/text.py): carrier files, CSV downloads.
NEUTRALISER = FORMULA_NEUTRALISER  # 全角スペース


class LabelFileError(ValueError):
    """A label file cannot be written; the message is for staff, in Japanese."""


@dataclass(frozen=True)
class Sender:
    """ご依頼主: the shop, printed on every label."""

    name: str
    postcode: str
    address: str
    phone: str


@dataclass(frozen=True)
class Parcel:
    """What a fill function sees for one order."""

    order: Order
    lines: Sequence[OrderLine]
    sender: Sender
    key: str
    ship_date: date
    address: tuple[str, ...]  # お届け先住所, split over the layout's address columns
    sender_address: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.order.mall}:{self.order.order_number}"

    @property
    def cash_on_delivery(self) -> bool:
        return "代引" in self.order.payment_method or "代金引換" in self.order.payment_method

    def item(self, index: int) -> str:
        """The index-th line as 品名 (name × quantity)."""
        if index >= len(self.lines):
            return ""
        line = self.lines[index]
        name = line.name or line.sku or ""
        return f"{name} ×{line.quantity}" if line.quantity > 1 else name

    def items_summary(self) -> str:
        if not self.lines:
            return ""
        first = self.item(0)
        return first if len(self.lines) == 1 else f"{first} 他{len(self.lines) - 1}点"


Fill = Callable[[Parcel], str]


@dataclass(frozen=True)
class Column:
    name: str
    limit: int | None = None  # CP932 bytes; None: no limit known
    fill: Fill | None = None  # None: left blank
    truncate: bool = False  # cut to the limit (品名, 記事) instead of refusing the order


@dataclass(frozen=True)
class CodeTable:
    column: str
    codes: Mapping[str, str]
    source: str
    unverified: str = ""  # "" when confirmed; otherwise what is doubtful (⚠)


@dataclass(frozen=True)
class Layout:
    key: str
    name: str
    carrier: str  # sheets_schema.models.Carrier
    header: bool  # True: first row is the column names; False: positional
    columns: tuple[Column, ...]
    codes: tuple[CodeTable, ...] = ()
    key_column: str | None = None  # where order_key goes; None: the layout has none
    key_limit: int = 20
    address_widths: tuple[int, ...] = ()  # byte widths of the お届け先住所 columns, in order
    sender_address_widths: tuple[int, ...] = ()
    source: str = ""
    notes: tuple[str, ...] = ()  # ⚠ and setup hints to show staff

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def code(self, column: str) -> CodeTable:
        return next(c for c in self.codes if c.column == column)

    @property
    def unverified(self) -> list[str]:
        return [f"{c.column}: {c.unverified}" for c in self.codes if c.unverified] + [
            n for n in self.notes if n.startswith("⚠")
        ]


# --- order keys ---------------------------------------------------------------------------

MALL_PREFIX = {"楽天": "RT", "Amazon": "AM", "Yahoo!": "YH", "Shopify": "SH"}


def order_key(mall: str, order_number: str, limit: int = 20) -> str:
    """A short 半角英数 key for an order: mall prefix, the order number's last digits/letters,
    and 4 hex of a hash of "{モール}:{注文番号}" so orders cut to the same tail stay apart.
    Stable: the same order always gets the same key, so it can be recomputed from the sheet."""
    if limit < 8:
        raise ValueError("limit must be at least 8")
    prefix = MALL_PREFIX.get(mall) or "M" + hashlib.sha1(mall.encode()).hexdigest()[0].upper()
    digest = hashlib.sha1(f"{mall}:{order_number}".encode()).hexdigest()[:4].upper()
    tail = re.sub(r"[^0-9A-Za-z]", "", unicodedata.normalize("NFKC", order_number)).upper()
    room = limit - len(prefix) - len(digest)
    return f"{prefix}{tail[-room:] if tail else ''}{digest}"


def key_map(orders: Iterable[Order], limit: int = 20) -> dict[str, tuple[str, str]]:
    """{order_key: (モール, 注文番号)} for every order: how an imported key finds its order."""
    found: dict[str, tuple[str, str]] = {}
    for order in orders:
        key = order_key(order.mall, order.order_number, limit)
        ident = (order.mall, order.order_number)
        if found.setdefault(key, ident) != ident:
            raise LabelFileError(f"管理番号 {key} が2つの注文で重なりました（{found[key]} と {ident}）")
    return found


# --- value formatting ---------------------------------------------------------------------


def _digits(value: str | None) -> str:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if text.startswith("+81"):
        text = "0" + text[3:].lstrip(" -")
    return re.sub(r"\D", "", text)


def phone(value: str | None, *, hyphens: bool = True) -> str:
    """A Japanese phone number as the layout wants it: "03-1234-5678" or "0312345678"."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if text.startswith("+81"):
        text = "0" + text[3:].lstrip(" -")
    if not hyphens:
        return re.sub(r"\D", "", text)
    return re.sub(r"[^\d-]", "", text).strip("-")


def postcode(value: str | None, *, hyphen: bool) -> str:
    digits = _digits(value)
    if len(digits) != 7:
        return digits
    return f"{digits[:3]}-{digits[3:]}" if hyphen else digits


def cp932_len(text: str) -> int:
    return len(text.encode("cp932", errors="replace"))


def split_address(address: str, widths: Sequence[int]) -> tuple[str, ...] | None:
    """The address over columns of the given byte widths, breaking at spaces where it can.
    None when it does not fit at all."""
    words = [w for w in re.split(r"[ \u3000]+", address.strip()) if w]
    parts: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if cp932_len(candidate) <= widths[len(parts)]:
            current = candidate
            continue
        while True:
            if current:
                parts.append(current)
                current = ""
            if len(parts) == len(widths):
                return None
            if cp932_len(word) <= widths[len(parts)]:
                current = word
                break
            cut = _cut(word, widths[len(parts)])
            parts.append(cut)
            word = word[len(cut) :]
            if not word:
                break
    if current:
        if len(parts) == len(widths):
            return None
        parts.append(current)
    return tuple(parts + [""] * (len(widths) - len(parts)))


def _cut(text: str, limit: int) -> str:
    out = ""
    for ch in text:
        if cp932_len(out + ch) > limit:
            break
        out += ch
    return out


def clean_cell(value: str) -> str:
    """Tabs and line breaks become spaces; a formula start gets a full-width space in front."""
    text = neutralise_formula(value)
    return re.sub(r"[\t\r\n]+", " ", text)


# --- layouts ------------------------------------------------------------------------------


def _const(value: str) -> Fill:
    return lambda p: value


def _addr(i: int) -> Fill:
    return lambda p: p.address[i]


def _sender_addr(i: int) -> Fill:
    return lambda p: p.sender_address[i]


def _item(i: int) -> Fill:
    return lambda p: p.item(i)


def _ship_date(fmt: str) -> Fill:
    return lambda p: p.ship_date.strftime(fmt)


def _key(p: Parcel) -> str:
    return p.key


def _name(p: Parcel) -> str:
    return p.order.recipient_name or p.order.buyer_name


def _cod(p: Parcel) -> str:
    return str(p.order.total) if p.cash_on_delivery else ""


_B2_SOURCE = (
    "aiship manual『CSVレイアウト（ヤマトB2形式）』; jmleejake/csvProject NewYamatoVO.java; "
    "codes from an old B2 layout PDF (paperzz.com/doc/5980562) and flagship.cc support"
)
_B2_TIME_NOTE = (
    "1214 と 2021 は古いPDFにのみ記載。2017年の時間帯変更・2023–25年のサービス変更（DM便→クロネコゆうメール、"
    "ネコポス→クロネコゆうパケット）で現行コードが変わった可能性あり。new_exchange PDF で確認すること"
)

B2_CODES = (
    CodeTable(
        "送り状種類",
        {
            "0": "発払い",
            "2": "コレクト",
            "3": "DM便",
            "4": "タイム",
            "5": "着払い",
            "6": "メール便速達",
            "7": "ネコポス",
            "8": "宅急便コンパクト",
            "9": "コンパクトコレクト",
        },
        _B2_SOURCE,
        "3 DM便・7 ネコポス は2023–25年のサービス変更で廃止・改称の可能性あり",
    ),
    CodeTable("クール区分", {"0": "通常", "1": "冷凍", "2": "冷蔵"}, _B2_SOURCE),
    CodeTable(
        "配達時間帯",
        {
            "": "指定なし",
            "0812": "午前中",
            "1214": "12–14時",
            "1416": "14–16時",
            "1618": "16–18時",
            "1820": "18–20時",
            "2021": "20–21時",
        },
        _B2_SOURCE,
        _B2_TIME_NOTE,
    ),
)

_B2_NAMED = (
    Column("お客様管理番号", 20, _key),
    Column("送り状種類", 1, lambda p: "2" if p.cash_on_delivery else "0"),
    Column("クール区分", 1, _const("0")),
    Column("伝票番号", 12),
    Column("出荷予定日", 10, _ship_date("%Y/%m/%d")),
    Column("お届け予定（指定）日", 10),
    Column("配達時間帯", 4),
    Column("お届け先コード", 20),
    Column("お届け先電話番号", 15, lambda p: phone(p.order.phone)),
    Column("お届け先電話番号枝番", 2),
    Column("お届け先郵便番号", 8, lambda p: postcode(p.order.postcode, hyphen=True)),
    Column("お届け先住所", 64, _addr(0)),
    Column("お届け先住所（アパートマンション名）", 32, _addr(1)),
    Column("お届け先会社・部門名１", 50),
    Column("お届け先会社・部門名２", 50),
    Column("お届け先名", 32, _name),
    Column("お届け先名略称カナ", 50),
    Column("敬称", 4, _const("様")),
    Column("ご依頼主コード", 20),
    Column("ご依頼主電話番号", 15, lambda p: phone(p.sender.phone)),
    Column("ご依頼主電話番号枝番", 2),
    Column("ご依頼主郵便番号", 8, lambda p: postcode(p.sender.postcode, hyphen=True)),
    Column("ご依頼主住所", 64, _sender_addr(0)),
    Column("ご依頼主住所（アパートマンション名）", 32, _sender_addr(1)),
    Column("ご依頼主名", 32, lambda p: p.sender.name),
    Column("ご依頼主略称カナ", 50),
    Column("品名コード１", 30),
    Column("品名１", 50, lambda p: p.items_summary(), truncate=True),
    Column("品名コード２", 30),
    Column("品名２", 50),
    Column("荷扱い１", 20),
    Column("荷扱い２", 20),
    Column("記事", 44, truncate=True),
    Column("コレクト代金引換額（税込）", 7, _cod),
    Column("コレクト内消費税額等", 7),
    Column("営業所止置き", 1),
    Column("営業所コード", 6),
    Column("発行枚数", 2, _const("1")),
    Column("個数口枠の印字", 1),
    Column("ご請求先顧客コード", 12),
    Column("ご請求先分類コード", 3),
    Column("運賃管理番号", 2),
    Column("クロネコwebコレクト データ登録", 1),
)

# Columns 44–97: named by the documented groups only (⚠ exact names not checked); left blank.
_B2_REST = (
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
    columns=_B2_NAMED + tuple(Column(n) for n in _B2_REST),
    codes=B2_CODES,
    key_column="お客様管理番号",
    key_limit=20,
    address_widths=(64, 32),
    sender_address_widths=(64, 32),
    source=_B2_SOURCE,
    notes=(
        "B2クラウドで取込パターン（1行目見出し・97項目）を一度登録してください",
        "⚠ 44–97列の列名は資料の項目グループ名から付けたもの（公式PDF new_exchange1.pdf で未確認）。空欄で出力します",
        "⚠ 送り状種類・配達時間帯のコードは古いPDF由来です",
    ),
)

_SAGAWA_SOURCE = (
    "jmleejake/csvProject SagawaVO.java; e飛伝III: manual.aiship.jp e飛伝Ⅲ layout, "
    "共通テンプレート「標準_飛脚宅急便_CSV_ヘッダ有り」(d2c-square.com/?p=805)"
)
_SAGAWA_NOTE = "佐川の公式仕様書は未入手。実アカウントの出力で確認すること"

SAGAWA_CODES = (
    CodeTable(
        "荷姿コード",
        {"001": "箱類", "008": "その他"},
        _SAGAWA_SOURCE,
        "002–007 の意味は未確認. " + _SAGAWA_NOTE,
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
        _SAGAWA_SOURCE,
        _SAGAWA_NOTE,
    ),
    CodeTable(
        "便種（商品）",
        {"001": "指定なし", "002": "クール冷蔵", "003": "クール冷凍"},
        _SAGAWA_SOURCE,
        _SAGAWA_NOTE,
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
        _SAGAWA_SOURCE,
        "5区分/6区分の切替はアカウント設定次第. " + _SAGAWA_NOTE,
    ),
    CodeTable("決済種別", {"0": "", "1": "", "2": "", "5": ""}, _SAGAWA_SOURCE, "各値の意味が未確認"),
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
        _SAGAWA_SOURCE,
        _SAGAWA_NOTE,
    ),
    CodeTable("元着区分", {"1": "元払", "2": "着払"}, _SAGAWA_SOURCE),
)

_SAGAWA_COLUMNS = (
    Column("住所録コード", 12),
    Column("お届け先電話番号", 14, lambda p: phone(p.order.phone)),
    Column("お届け先郵便番号", 8, lambda p: postcode(p.order.postcode, hyphen=True)),
    Column("お届け先住所1", 32, _addr(0)),
    Column("お届け先住所2", 32, _addr(1)),
    Column("お届け先住所3", 32, _addr(2)),
    Column("お届け先名称1", 32, _name),
    Column("お届け先名称2", 32),
    Column("お客様管理ナンバー", 16, _key),
    Column("お客様コード", 12),
    Column("部署・担当者", 32),
    Column("荷送人電話番号", 14),
    Column("ご依頼主電話番号", 14, lambda p: phone(p.sender.phone)),
    Column("ご依頼主郵便番号", 8, lambda p: postcode(p.sender.postcode, hyphen=True)),
    Column("ご依頼主住所1", 32, _sender_addr(0)),
    Column("ご依頼主住所2", 32, _sender_addr(1)),
    Column("ご依頼主名称1", 32, lambda p: p.sender.name),
    Column("ご依頼主名称2", 32),
    Column("荷姿コード", 3, _const("001")),
    *(Column(f"品名{i + 1}", 32, _item(i), truncate=True) for i in range(5)),
    Column("出荷個数", 3, _const("1")),
    Column("便種（スピード）", 3, _const("000")),
    Column("便種（商品）", 3, _const("001")),
    Column("配達日", 8),
    Column("配達指定時間帯", 2),
    Column("配達指定時間（時分）", 4),
    Column("代引金額", 7, _cod),
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
    Column("元着区分", 1, _const("1")),
)

EHIDEN2 = Layout(
    key="sagawa_ehiden2",
    name="佐川 e飛伝II",
    carrier="佐川急便",
    header=True,
    columns=_SAGAWA_COLUMNS,
    codes=SAGAWA_CODES,
    key_column="お客様管理ナンバー",
    key_limit=16,
    address_widths=(32, 32, 32),
    sender_address_widths=(32, 32),
    source=_SAGAWA_SOURCE,
    notes=(
        "e飛伝IIで取込レイアウト（見出し1行・42項目）を一度登録してください",
        "⚠ " + _SAGAWA_NOTE + "（列幅・お客様管理ナンバーの16桁上限を含む）",
        "⚠ 住所・名称の半角文字はe飛伝側で全角に変換されます（全角16文字まで）",
    ),
)

EHIDEN3 = Layout(
    key="sagawa_ehiden3",
    name="佐川 e飛伝III",
    carrier="佐川急便",
    header=True,
    columns=(*_SAGAWA_COLUMNS, Column("お問い合せ送り状No.", 12)),
    codes=SAGAWA_CODES,
    key_column="お客様管理ナンバー",
    key_limit=16,
    address_widths=(32, 32, 32),
    sender_address_widths=(32, 32),
    source=_SAGAWA_SOURCE,
    notes=(
        "e飛伝IIIでは共通テンプレート「標準_飛脚宅急便_CSV_ヘッダ有り」を選んでください",
        "⚠ " + _SAGAWA_NOTE,
    ),
)


def _zen(n: int) -> str:
    """01 → ０１: the ゆうプリR names number their free columns in full-width digits."""
    return f"{n:02d}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))


# ゆうプリR standard layout: 118 positional columns, names from a public Shopify→ゆうプリR converter.
YUPRI_COLUMN_NAMES = (
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

_YUPRI_SOURCE = (
    "standard 118-column positional layout: names from a public Shopify→ゆうプリR converter (117) plus "
    "倉庫数 at 72 and 50-byte address widths from a public WMS exporter (row.put(1..118)); "
    "codes from the Sokuhan ゆうパックプリントR CSV PDF copy (paperzz.com/doc/5322404)"
)

YUPRI_CODES = (
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
        _YUPRI_SOURCE,
        "ポスパケットは廃止済みのサービス。現行の一覧は未確認",
    ),
    CodeTable("保冷種別", {"0": "なし", "1": "チルド", "2": "冷凍"}, _YUPRI_SOURCE),
    CodeTable("元／着払／代引", {"0": "元払", "1": "着払", "2": "代引"}, _YUPRI_SOURCE),
    CodeTable(
        "送り状種別",
        {"1100780": "ゆうパック 元払（公開コンバーターでの使用例）"},
        "one public Shopify→ゆうプリR converter",
        "送り状（ラベル用紙）の種類で変わる。自分の用紙のコードを確認すること",
    ),
)

_YUPRI_FILLS: dict[str, Fill] = {
    "お客様側管理番号": _key,
    "発送予定日": _ship_date("%Y/%m/%d"),
    "郵便種別": _const("0"),
    "保冷種別": _const("0"),
    "元／着払／代引": lambda p: "2" if p.cash_on_delivery else "0",
    "送り状種別": _const("1100780"),
    "お届け先 郵便番号": lambda p: postcode(p.order.postcode, hyphen=False),
    "お届け先 住所１": _addr(0),
    "お届け先 住所２": _addr(1),
    "お届け先 住所３": _addr(2),
    "お届け先 名称１": _name,
    "お届け先 敬称区分": _const("0"),
    "お届け先 電話番号": lambda p: phone(p.order.phone, hyphens=False),
    "ご依頼主 郵便番号": lambda p: postcode(p.sender.postcode, hyphen=False),
    "ご依頼主 住所１": _sender_addr(0),
    "ご依頼主 住所２": _sender_addr(1),
    "ご依頼主 住所３": _sender_addr(2),
    "ご依頼主 名称１": lambda p: p.sender.name,
    "ご依頼主 電話番号": lambda p: phone(p.sender.phone, hyphens=False),
    "受注番号": lambda p: p.order.order_number,
    "複数個口数": _const("1"),
    "代引金額": _cod,
    "品名": lambda p: p.items_summary(),
    "個数": _const("1"),
}
_YUPRI_LIMITS = {
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
        Column(n, _YUPRI_LIMITS.get(n), _YUPRI_FILLS.get(n), truncate=n in ("品名", "受注番号"))
        for n in YUPRI_COLUMN_NAMES
    ),
    codes=YUPRI_CODES,
    key_column="お客様側管理番号",
    key_limit=20,
    address_widths=(50, 50, 50),
    sender_address_widths=(50, 50, 50),
    source=_YUPRI_SOURCE,
    notes=(
        "見出しなし・位置固定の標準レイアウト（118項目）です。99項目（future-shop）や100項目（V3）とは別物",
        "⚠ お客様側管理番号の桁数上限（20と仮定）は未確認。住所は1欄50バイト（公開コードより）",
        "⚠ 送り状種別 1100780 は公開コードでの一例。用紙に合わせて確認してください",
    ),
)

CLICKPOST = Layout(
    key="clickpost",
    name="クリックポスト まとめ申込",
    carrier="日本郵便",
    header=True,
    columns=(
        Column("お届け先郵便番号", 8, lambda p: postcode(p.order.postcode, hyphen=True)),
        Column("お届け先氏名", 40, _name),
        Column("お届け先敬称", 4, _const("様")),
        Column("お届け先住所1行目", 40, _addr(0)),
        Column("お届け先住所2行目", 40, _addr(1)),
        Column("お届け先住所3行目", 40, _addr(2)),
        Column("お届け先住所4行目", 40, _addr(3)),
        Column("内容品", 30, lambda p: p.items_summary(), truncate=True),
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

LAYOUTS: dict[str, Layout] = {x.key: x for x in (B2, EHIDEN2, EHIDEN3, YUPRI, CLICKPOST)}


# --- building -----------------------------------------------------------------------------


def _check(value: str, *, who: str, column: Column) -> str:
    for ch in value:
        try:
            ch.encode("cp932")
        except UnicodeEncodeError:
            raise LabelFileError(
                f"{who} の {column.name} に Shift_JIS で使えない文字「{ch}」があります"
            ) from None
    if column.limit is not None and cp932_len(value) > column.limit:
        if column.truncate:
            return _cut(value, column.limit)
        raise LabelFileError(
            f"{who} の {column.name} が長すぎます（{column.limit}バイト＝全角{column.limit // 2}文字まで）: 「{value}」"
        )
    return value


def _split(address: str, widths: Sequence[int], who: str, what: str) -> tuple[str, ...]:
    if not widths:
        return ()
    for ch in address:
        try:
            ch.encode("cp932")
        except UnicodeEncodeError:
            raise LabelFileError(f"{who} の {what} に Shift_JIS で使えない文字「{ch}」があります") from None
    parts = split_address(address, widths)
    if parts is None:
        raise LabelFileError(
            f"{who} の {what} が長すぎて送り状の住所欄（全角{sum(widths) // 2}文字）に入りません: 「{address}」"
        )
    return parts


def build_rows(
    layout: Layout,
    orders_with_lines: Iterable[tuple[Order, Sequence[OrderLine]]],
    *,
    sender: Sender,
    ship_date: date | None = None,
) -> list[list[str]]:
    """The file's rows as text (header first when the layout has one), every cell checked."""
    day = ship_date or datetime.now(JST).date()
    rows: list[list[str]] = [layout.column_names] if layout.header else []
    sender_address = _split(sender.address, layout.sender_address_widths, "ご依頼主", "住所")
    for order, lines in orders_with_lines:
        who = f"注文 {order.mall}:{order.order_number}"
        parcel = Parcel(
            order=order,
            lines=list(lines),
            sender=sender,
            key=order_key(order.mall, order.order_number, layout.key_limit),
            ship_date=day,
            address=_split(order.address, layout.address_widths, who, "お届け先住所"),
            sender_address=sender_address,
        )
        row = []
        for column in layout.columns:
            value = clean_cell(column.fill(parcel)) if column.fill else ""
            row.append(_check(value, who=who, column=column))
        rows.append(row)
    return rows


def build_file(
    layout: Layout,
    orders_with_lines: Iterable[tuple[Order, Sequence[OrderLine]]],
    *,
    sender: Sender,
    ship_date: date | None = None,
) -> bytes:
    """The label file for the carrier's software: CP932, CRLF, one row per order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(build_rows(layout, orders_with_lines, sender=sender, ship_date=ship_date))
    return out.getvalue().encode("cp932")


__all__ = [
    "B2",
    "CLICKPOST",
    "EHIDEN2",
    "EHIDEN3",
    "LAYOUTS",
    "YUPRI",
    "CodeTable",
    "Column",
    "LabelFileError",
    "Layout",
    "Parcel",
    "Sender",
    "build_file",
    "build_rows",
    "clean_cell",
    "key_map",
    "order_key",
    "orders_with_lines",
    "phone",
    "postcode",
]
