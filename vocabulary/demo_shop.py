"""Deterministic demo data for Ichigen: a small Japanese everyday-goods shop on four malls.

Pure data, standard library only: no I/O, no clock reads, no global random state. All random
choices come from one seeded ``random.Random`` and are drawn independently of ``now``, so the
shape of the shop (orders, statuses, quantities) is fixed and only the timestamps follow ``now``.

``demo_shop(now)`` returns ``{tab title: [row dict keyed by header]}``. Identifiers are ``str``,
yen amounts and quantities are ``int``, times are JST ``"YYYY-MM-DD HH:MM:SS"``, empty cells ``""``.

Ledger (在庫移動) sign convention: 数量 is always a positive unit count and 区分 gives the
direction: 入庫 +実在庫, 出荷 -実在庫, 引当 +引当数, 引当解除 -引当数, 手動調整 signed on 実在庫.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from vocabulary import demo_purchasing, demo_rhythm

JST = ZoneInfo("Asia/Tokyo")
SEED = 20260110
DEMO_MALLS: tuple[str, ...] = ("楽天", "Amazon", "Yahoo!", "Shopify")

Row = dict[str, str | int]

HEADERS: dict[str, tuple[str, ...]] = {
    "商品": (
        "SKU",
        "商品名",
        "販売価格",
        "原価",
        "JANコード",
        "仕入先",
        "発注点",
        "発注ロット",
        "リードタイム日数",
        "メモ",
        "棚番",
    ),
    "在庫": ("SKU", "実在庫", "引当数", "安全在庫", "販売可能数", "更新日時"),
    "モール商品": ("モール", "SKU", "モール商品コード", "モールSKU", "在庫連携"),
    "受注": (
        "モール",
        "注文番号",
        "注文日時",
        "ステータス",
        "支払方法",
        "購入者名",
        "送付先氏名",
        "郵便番号",
        "住所",
        "電話番号",
        "合計金額",
        "送料",
        "備考",
        "更新日時",
    ),
    "受注明細": ("モール", "注文番号", "明細番号", "SKU", "商品名", "数量", "単価"),
    "在庫移動": (
        "移動ID",
        "日時",
        "SKU",
        "区分",
        "数量",
        "モール",
        "注文番号",
        "明細番号",
        "備考",
    ),
    **demo_purchasing.HEADERS,
    "セット構成": ("セットSKU", "構成SKU", "数量", "メモ"),
}

OPEN_STATUSES = ("新規", "入金待ち", "発送待ち", "保留")  # units still allocated
STATUSES = (*OPEN_STATUSES, "出荷済", "キャンセル")

# --- catalogue ---------------------------------------------------------------------------


class Parent(NamedTuple):
    base: str  # SKU stem; variant suffix is appended with "-"
    name: str
    price: int  # tax-included yen
    cost: int
    supplier: str
    jan_maker: str  # 7-digit GS1 prefix + maker code; "" = product has no JAN
    reorder_point: int
    lot: int
    lead_days: int
    rakuten_code: str  # 楽天 商品管理番号 (lower case)
    yahoo_code: str  # Yahoo! 商品コード
    popularity: int  # relative weight per SKU when picking order lines
    # (SKU suffix, label); ("", "") = no variation
    variants: tuple[tuple[str, str], ...]


Variant = tuple[str, str]  # (SKU suffix, label)


def _combo(colours: tuple[Variant, ...], sizes: tuple[Variant, ...]) -> tuple[Variant, ...]:
    """Colour x size variants, e.g. ("NV-M", "ネイビー M")."""
    return tuple((f"{c}-{s}", f"{cl} {sl}") for c, cl in colours for s, sl in sizes)


WH, NV, GY, PK, BK = (
    ("WH", "ホワイト"),
    ("NV", "ネイビー"),
    ("GY", "グレー"),
    ("PK", "ピンク"),
    ("BK", "ブラック"),
)
NAT, BE = ("NAT", "キナリ"), ("BE", "ベージュ")
SML = (("S", "S"), ("M", "M"), ("L", "L"))
SOCK_SIZES = (("M", "23-25cm"), ("L", "25-27cm"))
SINGLE = (("", ""),)

PARENTS: tuple[Parent, ...] = (
    Parent("TWL-FACE", "今治タオル フェイスタオル", 1320, 560, "株式会社いまばり織布", "4960123",
           10, 24, 14, "imabari-towel-face", "twl-face", 8, (WH, NV, GY, PK)),
    Parent("TWL-BATH", "今治タオル バスタオル", 3850, 1650, "株式会社いまばり織布", "4960123",
           6, 12, 14, "imabari-towel-bath", "twl-bath", 5, (WH, NV, GY)),
    Parent("TOTE-M", "帆布トートバッグ M", 3960, 1800, "有限会社くらしき帆布工房", "4582217",
           5, 10, 21, "hanpu-tote-m", "tote-m", 4, (NAT, NV, BK)),
    Parent("TOTE-L", "帆布トートバッグ L", 4950, 2300, "有限会社くらしき帆布工房", "4582217",
           4, 10, 21, "hanpu-tote-l", "tote-l", 3, (NAT, NV)),
    Parent("MUG-ARITA", "有田焼マグカップ", 2750, 1200, "合同会社有田青窯", "4571908",
           6, 12, 30, "arita-mug", "mug-arita", 4, (("AI", "藍"), ("SHU", "朱"), ("HAK", "白磁"))),
    Parent("TSH-OC", "オーガニックコットンTシャツ", 3960, 1650, "株式会社みどりテキスタイル", "4589034",
           5, 10, 21, "organic-tshirt", "tsh-oc", 2, _combo((WH, NV, GY), SML)),
    Parent("SOX-RIB", "綿混リブソックス", 990, 420, "奈良ニット工業株式会社", "4937765",
           12, 30, 10, "rib-socks", "sox-rib", 5, _combo((NV, GY, BK), SOCK_SIZES)),
    Parent("00123", "注染手ぬぐい", 1650, 700, "有限会社浜田染工", "",
           8, 20, 14, "chusen-tenugui", "tenugui-00123", 4,
           (("01", "麻の葉"), ("02", "青海波"), ("03", "市松"))),
    Parent("00456", "若狭塗 箸", 2200, 980, "株式会社小浜塗箸", "4904480",
           5, 10, 30, "wakasa-hashi", "hashi-00456", 3, (("01", "22.5cm"), ("02", "23.5cm"))),
    Parent("APR-LIN", "リネンエプロン", 4400, 2000, "株式会社みどりテキスタイル", "4589034",
           3, 6, 21, "linen-apron", "apron-linen", 2, (NV, GY, BE)),
    Parent("00901", "蚊帳ふきん", 550, 240, "有限会社奈良蚊帳織", "",
           15, 50, 7, "kaya-fukin", "fukin-00901", 6, SINGLE),
    Parent("CB-HINOKI", "ヒノキまな板", 3300, 1500, "木曽ひのき工房株式会社", "4545512",
           3, 5, 45, "hinoki-manaita", "manaita-hinoki", 2, (("M", "M 36cm"),)),
)  # fmt: skip

# Catalogue quirks the demo should exercise.
LOW_STOCK_SKUS = ("TSH-OC-NV-L", "TWL-BATH-NV", "00123-02")  # end at or below 発注点
OUT_OF_STOCK_SKUS = ("TOTE-L-NV", "MUG-ARITA-AI")  # end with 実在庫 0, no open orders
MEMOS = {
    "TOTE-L-NV": "欠品中・次回入荷未定",
    "MUG-ARITA-AI": "欠品中・窯元に追加発注済",
    "CB-HINOKI-M": "木目・色味に個体差あり（商品ページに記載済）",
}
NOT_LISTED = {"Amazon": ("00123", "00901"), "Yahoo!": ("CB-HINOKI",)}  # parent bases
SYNC_OFF = {
    ("Amazon", "TWL-BATH-GY"),
    ("Yahoo!", "TOTE-L-NV"),
    ("楽天", "00901"),
    ("Shopify", "00456-02"),
}
# 棚番: one rack per kind of goods, one shelf per product, one slot per variant ("A-01-2").
RACKS = {"TWL": "A", "TOTE": "B", "MUG": "C", "00456": "C", "CB": "C", "TSH": "D", "SOX": "D", "APR": "D"}
CLOTH_RACK = "E"  # 手ぬぐい, ふきん
ADJUSTMENTS = (  # (days before now, SKU, signed 実在庫 delta, 備考); deltas <= 0 only
    (20, "TWL-FACE-GY", -1, "棚卸差異"),
    (9, "MUG-ARITA-SHU", -1, "破損のため廃棄"),
)

# --- orders ------------------------------------------------------------------------------

ORDER_WINDOW_DAYS = 62  # 直近30日 and the 30 days before it are both whole in 分析
INITIAL_STOCK_DAYS = 63
# The seeded orders cover [now - ORDER_WINDOW_DAYS, now - LIVE_BACKLOG_HOURS) at the demo malls' own
# rate (vocabulary.demo_rhythm); the demo malls sell from there on.
HISTORY_HOURS = ORDER_WINDOW_DAYS * 24 - demo_rhythm.LIVE_BACKLOG_HOURS
MALL_ORDER_COUNTS = {
    mall: round(daily * HISTORY_HOURS / 24) for mall, daily in demo_rhythm.DAILY_ORDERS.items()
}
ORDER_COUNT = sum(MALL_ORDER_COUNTS.values())
PAYMENTS = {  # mall -> ((method, weight), ...)
    "楽天": (
        ("クレジットカード", 55),
        ("楽天ペイ", 15),
        ("銀行振込", 8),
        ("コンビニ決済", 8),
        ("代金引換", 8),
        ("後払い", 6),
    ),
    "Amazon": (("クレジットカード", 80), ("コンビニ決済", 10), ("代金引換", 10)),
    "Yahoo!": (
        ("PayPay", 45),
        ("クレジットカード", 35),
        ("銀行振込", 10),
        ("代金引換", 10),
    ),
    "Shopify": (
        ("クレジットカード", 60),
        ("Amazon Pay", 15),
        ("PayPay", 10),
        ("銀行振込", 8),
        ("コンビニ決済", 7),
    ),
}
PREPAID = ("銀行振込", "コンビニ決済")  # orders stay 入金待ち until paid
RAKUTEN_SHOP_ID = "338112"
YAHOO_STORE = "ichigen-store"
YAHOO_FIRST = 10000101
SHOPIFY_FIRST = 1031
AMAZON_PREFIXES = ("249", "250", "503")
ASIN_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
FREE_SHIPPING_FROM = 5000
SHIPPING_FEE, REMOTE_SHIPPING_FEE = 550, 770
REMOTE_PREFECTURES = ("北海道", "沖縄県")

FAMILY_NAMES = (
    "山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤",
    "吉田", "山本", "松本", "井上", "木村", "林", "清水", "斎藤", "森", "池田",
)  # fmt: skip
GIVEN_NAMES = (
    "太郎", "花子", "健一", "美咲", "翔太", "陽子", "直樹", "由美", "大輔", "恵",
    "拓也", "さくら", "誠", "彩", "裕子", "浩二", "真理", "悠斗",
)  # fmt: skip
ADDRESSES = (  # (郵便番号, prefecture + city + town, landline area code)
    ("150-0001", "東京都渋谷区神宮前", "03"),
    ("160-0022", "東京都新宿区新宿", "03"),
    ("113-0033", "東京都文京区本郷", "03"),
    ("220-0011", "神奈川県横浜市西区高島", "045"),
    ("330-0063", "埼玉県さいたま市浦和区高砂", "048"),
    ("260-0013", "千葉県千葉市中央区中央", "043"),
    ("370-0849", "群馬県高崎市八島町", "027"),
    ("460-0008", "愛知県名古屋市中区栄", "052"),
    ("530-0001", "大阪府大阪市北区梅田", "06"),
    ("600-8216", "京都府京都市下京区東塩小路町", "075"),
    ("650-0021", "兵庫県神戸市中央区三宮町", "078"),
    ("730-0011", "広島県広島市中区基町", "082"),
    ("790-0001", "愛媛県松山市一番町", "089"),
    ("812-0011", "福岡県福岡市博多区博多駅前", "092"),
    ("980-0021", "宮城県仙台市青葉区中央", "022"),
    ("060-0001", "北海道札幌市中央区北一条西", "011"),
    ("900-0015", "沖縄県那覇市久茂地", "098"),
)
BUILDINGS = ("グリーンハイツ", "メゾン桜", "コーポ青葉", "パークサイド南", "サンライズ")
ORDER_NOTES = ("配送時間帯: 午前中", "配送時間帯: 19-21時", "置き配希望（玄関前）")
GIFT_NOTES = ("ギフト包装希望", "ギフト包装希望（のし不要）", "")
HOLD_NOTES = (
    "番地の記載がないため購入者に住所確認中",
    "同梱希望の連絡あり、後続の注文待ち",
)
CANCEL_NOTES = (
    "購入者都合によりキャンセル",
    "注文内容の誤りによりキャンセル（再注文あり）",
)
# About 3 % of orders cancelled (the live demo malls cancel 5 % of theirs, some before import).
CANCEL_COUNT, HOLD_COUNT, AWAITING_PAYMENT_COUNT = round(ORDER_COUNT * 0.03), 2, 2

DAY = 86400  # seconds


class Sku(NamedTuple):
    code: str
    name: str
    jan: str
    parent: Parent
    suffix: str


class Line(NamedTuple):
    sku: Sku
    qty: int


class Order(NamedTuple):
    mall: str
    number: str
    ordered: datetime
    updated: datetime
    status: str
    payment: str
    buyer: str
    recipient: str
    postal: str
    address: str
    phone: str
    lines: tuple[Line, ...]
    shipping: int
    note: str


# --- helpers -----------------------------------------------------------------------------


def jan_check_digit(body: str) -> str:
    """EAN-13/JAN check digit for the first 12 digits (weights 1,3,1,3,... from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return str((10 - total % 10) % 10)


def _fmt(dt: datetime) -> str:
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _catalogue() -> list[Sku]:
    skus = []
    for pi, p in enumerate(PARENTS, start=1):
        for vi, (suffix, label) in enumerate(p.variants, start=1):
            code = f"{p.base}-{suffix}" if suffix else p.base
            name = f"{p.name} {label}" if label else p.name
            body = f"{p.jan_maker}{pi:03d}{vi:02d}" if p.jan_maker else ""
            jan = body + jan_check_digit(body) if body else ""
            skus.append(Sku(code, name, jan, p, suffix))
    return skus


# --- tabs --------------------------------------------------------------------------------


def _shelves() -> dict[str, str]:
    """棚番 per SKU (see RACKS)."""
    shelves, used = {}, {}
    for p in PARENTS:
        rack = RACKS.get(p.base.split("-")[0], CLOTH_RACK)
        used[rack] = used.get(rack, 0) + 1
        for slot, (suffix, _) in enumerate(p.variants, start=1):
            shelves[f"{p.base}-{suffix}" if suffix else p.base] = f"{rack}-{used[rack]:02d}-{slot}"
    return shelves


def _product_rows(skus: list[Sku]) -> list[Row]:
    shelves = _shelves()
    return [
        {
            "SKU": s.code,
            "商品名": s.name,
            "販売価格": s.parent.price,
            "原価": s.parent.cost,
            "JANコード": s.jan,
            "仕入先": s.parent.supplier,
            "発注点": s.parent.reorder_point,
            "発注ロット": s.parent.lot,
            "リードタイム日数": s.parent.lead_days,
            "メモ": MEMOS.get(s.code, ""),
            "棚番": shelves[s.code],
        }
        for s in skus
    ]


def _mall_codes(rng: random.Random, mall: str, s: Sku, ids: dict[str, str]) -> tuple[str, str]:
    """(モール商品コード, モールSKU) in the style of each mall."""
    p = s.parent
    if mall == "楽天":  # 商品管理番号 + SKU管理番号 (variantId)
        return p.rakuten_code, s.code.lower()
    if mall == "Amazon":  # one ASIN per child variation + seller SKU
        return "B0" + "".join(rng.choice(ASIN_CHARS) for _ in range(8)), s.code
    if mall == "Yahoo!":  # item code + sub-code (no sub-code for items without options)
        return p.yahoo_code, f"{p.yahoo_code}-{s.suffix.lower()}" if s.suffix else ""
    if p.base not in ids:  # Shopify: numeric product id per parent, variant SKU
        ids[p.base] = str(rng.randint(7_800_000_000_000, 8_999_999_999_999))
    return ids[p.base], s.code


def _listings(rng: random.Random, skus: list[Sku]) -> list[Row]:
    rows: list[Row] = []
    shopify_ids: dict[str, str] = {}
    for mall in DEMO_MALLS:
        for s in skus:
            if s.parent.base in NOT_LISTED.get(mall, ()):
                continue
            code, mall_sku = _mall_codes(rng, mall, s, shopify_ids)
            sync = "OFF" if (mall, s.code) in SYNC_OFF else "ON"
            rows.append(
                {
                    "モール": mall,
                    "SKU": s.code,
                    "モール商品コード": code,
                    "モールSKU": mall_sku,
                    "在庫連携": sync,
                }
            )
    return rows


def _base_status(rng: random.Random, age_days: float) -> str:
    r = rng.random()
    if age_days < 2:
        return "新規" if age_days < 0.5 or r < 0.4 else "発送待ち"
    if age_days < 5:
        return "発送待ち" if r < 0.35 else "出荷済"
    return "出荷済"


def _statuses(rng: random.Random, ages: list[float]) -> list[str]:
    """Status per order: by age, then a fixed number of cancels, holds and unpaid orders."""
    statuses = [_base_status(rng, a) for a in ages]
    idx = range(len(ages))
    for i in rng.sample([i for i in idx if ages[i] >= 1], CANCEL_COUNT):
        statuses[i] = "キャンセル"
    for i in rng.sample([i for i in idx if ages[i] < 5 and statuses[i] != "キャンセル"], HOLD_COUNT):
        statuses[i] = "保留"
    unshipped = [i for i in idx if statuses[i] in ("新規", "発送待ち")]
    for i in rng.sample(unshipped, AWAITING_PAYMENT_COUNT):
        statuses[i] = "入金待ち"
    return statuses


def _person(rng: random.Random) -> tuple[str, str, str, str]:
    """(氏名, 郵便番号, 住所, 電話番号), all fictitious."""
    name = f"{rng.choice(FAMILY_NAMES)} {rng.choice(GIVEN_NAMES)}"
    postal, town, area = rng.choice(ADDRESSES)
    address = f"{town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}"
    if rng.random() < 0.4:
        address += f" {rng.choice(BUILDINGS)} {rng.randint(1, 9)}0{rng.randint(1, 9)}"
    if rng.random() < 0.7:
        phone = f"{rng.choice(('090', '080', '070'))}-{rng.randint(1000, 9999)}-{_digits(rng, 4)}"
    else:
        mid = 10 - len(area) - 4  # Japanese landlines have 10 digits
        phone = f"{area}-{rng.randint(2, 9)}{_digits(rng, mid - 1)}-{_digits(rng, 4)}"
    return name, postal, address, phone


# Returning customers: about 30 % of orders come from a pool of 80 regulars, a few of whom buy
# often (weight 1/rank^0.5), so 分析's repeat rate, cohorts and RFM show a shop that keeps
# customers. The live demo malls draw from the same pool (sync.connectors.demo, repeat_rate).
REPEAT_RATE = 0.3
REGULAR_CUSTOMERS: tuple[tuple[str, str, str, str], ...] = tuple(
    _person(random.Random(f"ichigen-demo-regular:{i}")) for i in range(80)
)
_REGULAR_WEIGHTS = tuple(1 / (rank + 1) ** 0.5 for rank in range(len(REGULAR_CUSTOMERS)))


def regular_customer(rng: random.Random, rate: float = REPEAT_RATE) -> tuple[str, str, str, str] | None:
    """One of the regulars with probability ``rate`` (two draws whatever the outcome)."""
    pick = rng.choices(REGULAR_CUSTOMERS, weights=_REGULAR_WEIGHTS)[0]
    return pick if rng.random() < rate else None


def _lines(rng: random.Random, listed: list[Sku], is_open: bool) -> tuple[Line, ...]:
    pool = [s for s in listed if not (is_open and s.code in OUT_OF_STOCK_SKUS)]
    weights = [s.parent.popularity for s in pool]
    count = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
    picked: list[Sku] = []
    while len(picked) < count:
        s = rng.choices(pool, weights=weights)[0]
        if s not in picked:
            picked.append(s)
    return tuple(Line(s, rng.choices((1, 2, 3), weights=(75, 18, 7))[0]) for s in picked)


def _updated_offset(rng: random.Random, status: str, age: float) -> float:
    """Days between 注文日時 and 更新日時 (always drawn, so rng use is status-independent)."""
    r = rng.random()
    return {
        "新規": 0.0,
        "入金待ち": 0.01 + 0.02 * r,
        "発送待ち": 0.02 + 0.4 * r,
        "保留": 0.04 + 0.4 * r,
        "出荷済": 0.3 + (min(2.5, age - 0.05) - 0.3) * r,
        "キャンセル": 0.02 + min(1.0, age - 0.02) * r,
    }[status]


class _Numberer:
    """Order numbers in each mall's native format, unique and increasing with time."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.next = {"Yahoo!": YAHOO_FIRST, "Shopify": SHOPIFY_FIRST}

    def __call__(self, mall: str, ordered: datetime) -> str:
        number = self._draw(mall, ordered)
        while number in self.used:
            number = self._draw(mall, ordered)
        self.used.add(number)
        return number

    def _draw(self, mall: str, ordered: datetime) -> str:
        rng = self.rng
        if mall == "楽天":  # shop id, order date, 8 digits: 338112-20261118-00068801
            return f"{RAKUTEN_SHOP_ID}-{ordered:%Y%m%d}-{_digits(rng, 8)}"
        if mall == "Amazon":  # 503-1234567-1234567
            return f"{rng.choice(AMAZON_PREFIXES)}-{_digits(rng, 7)}-{_digits(rng, 7)}"
        seq = self.next[mall]
        self.next[mall] += 1
        # Yahoo!: store account + 8 digits (ichigen-store-10000123); Shopify: order name #1031
        return f"{YAHOO_STORE}-{seq}" if mall == "Yahoo!" else f"#{seq}"


def _history_offsets(rng: random.Random, now: datetime, count: int) -> list[int]:
    """Seconds before ``now`` of ``count`` orders spread over the history window as the live
    demo malls sell: by the hour and weekday of demo_rhythm (rejection sampling)."""
    newest = int(demo_rhythm.LIVE_BACKLOG_HOURS * 3600)
    oldest = ORDER_WINDOW_DAYS * DAY
    offsets: list[int] = []
    while len(offsets) < count:
        offset = rng.randint(newest, oldest)
        if rng.random() * demo_rhythm.PEAK < demo_rhythm.weight(now - timedelta(seconds=offset)):
            offsets.append(offset)
    return offsets


def _orders(rng: random.Random, now: datetime, skus: list[Sku], listings: list[Row]) -> list[Order]:
    by_code = {s.code: s for s in skus}
    listed = {m: [by_code[str(r["SKU"])] for r in listings if r["モール"] == m] for m in DEMO_MALLS}
    offsets = sorted(_history_offsets(rng, now, ORDER_COUNT), reverse=True)
    ages = [o / DAY for o in offsets]
    statuses = _statuses(rng, ages)
    number = _Numberer(rng)
    orders = []
    malls = [m for m, n in MALL_ORDER_COUNTS.items() for _ in range(n)]
    rng.shuffle(malls)
    for mall, offset, age, status in zip(malls, offsets, ages, statuses, strict=True):
        ordered = now - timedelta(seconds=offset)
        payment = _weighted(rng, PAYMENTS[mall])
        if status == "入金待ち":
            payment = rng.choice([m for m, _ in PAYMENTS[mall] if m in PREPAID])
        elif status == "新規" and payment in PREPAID:
            status = "入金待ち"
        buyer, postal, address, phone = _person(rng)
        regular = regular_customer(random.Random(f"ichigen-demo-history:{len(orders)}"))
        if regular is not None:
            buyer, postal, address, phone = regular
        recipient, gift, note = buyer, rng.random() < 0.12, ""
        if gift:
            recipient, postal, address, phone = _person(rng)
            note = rng.choice(GIFT_NOTES)
        elif rng.random() < 0.12:
            note = rng.choice(ORDER_NOTES)
        if status == "保留":
            note = HOLD_NOTES[sum(o.status == "保留" for o in orders) % len(HOLD_NOTES)]
        elif status == "キャンセル":
            note = rng.choice(CANCEL_NOTES)
        lines = _lines(rng, listed[mall], status in OPEN_STATUSES)
        subtotal = sum(ln.qty * ln.sku.parent.price for ln in lines)
        remote = address.startswith(REMOTE_PREFECTURES)
        shipping = 0 if subtotal >= FREE_SHIPPING_FROM else REMOTE_SHIPPING_FEE if remote else SHIPPING_FEE
        updated = min(
            now,
            ordered + timedelta(seconds=int(_updated_offset(rng, status, age) * DAY)),
        )
        orders.append(
            Order(mall, number(mall, ordered), ordered, updated, status, payment, buyer, recipient,
                  postal, address, phone, lines, shipping, note)
        )  # fmt: skip
    return orders


def _order_rows(orders: list[Order]) -> tuple[list[Row], list[Row]]:
    heads: list[Row] = []
    lines: list[Row] = []
    for o in orders:
        total = sum(ln.qty * ln.sku.parent.price for ln in o.lines) + o.shipping
        heads.append(
            {
                "モール": o.mall,
                "注文番号": o.number,
                "注文日時": _fmt(o.ordered),
                "ステータス": o.status,
                "支払方法": o.payment,
                "購入者名": o.buyer,
                "送付先氏名": o.recipient,
                "郵便番号": o.postal,
                "住所": o.address,
                "電話番号": o.phone,
                "合計金額": total,
                "送料": o.shipping,
                "備考": o.note,
                "更新日時": _fmt(o.updated),
            }
        )
        for no, ln in enumerate(o.lines, start=1):
            lines.append(
                {
                    "モール": o.mall,
                    "注文番号": o.number,
                    "明細番号": no,
                    "SKU": ln.sku.code,
                    "商品名": ln.sku.name,
                    "数量": ln.qty,
                    "単価": ln.sku.parent.price,
                }
            )
    return heads, lines


def _move(
    move_id: str,
    at: datetime,
    sku: str,
    kind: str,
    qty: int,
    order: Order | None = None,
    no: int | str = "",
    note: str = "",
) -> Row:
    return {
        "移動ID": move_id,
        "日時": _fmt(at),
        "SKU": sku,
        "区分": kind,
        "数量": qty,
        "モール": order.mall if order else "",
        "注文番号": order.number if order else "",
        "明細番号": no,
        "備考": note,
    }


def _order_moves(orders: list[Order]) -> list[Row]:
    """引当 at 注文日時; shipping (出荷 + 引当解除) or cancelling (引当解除) at 更新日時."""
    moves: list[Row] = []
    for o in orders:
        steps = [("引当", o.ordered, "")]
        if o.status == "出荷済":
            steps += [("出荷", o.updated, ""), ("引当解除", o.updated, "出荷に伴う引当解除")]
        elif o.status == "キャンセル":
            steps += [("引当解除", o.updated, "キャンセル")]
        for no, ln in enumerate(o.lines, start=1):
            for kind, at, note in steps:
                move_id = f"{kind}:{o.mall}:{o.number}:{no}"
                moves.append(_move(move_id, at, ln.sku.code, kind, ln.qty, o, no, note))
    return moves


def _final_stock(rng: random.Random, s: Sku, allocated: int) -> int:
    """Target 実在庫 at `now`; initial stock is back-computed from it so it never goes negative."""
    if s.code in OUT_OF_STOCK_SKUS:
        return 0
    if s.code in LOW_STOCK_SKUS:
        return max(allocated, min(s.parent.reorder_point, allocated + rng.randint(1, 3)))
    return allocated + s.parent.reorder_point + rng.randint(5, 40)


def least_free_stock() -> dict[str, int]:
    """販売可能数 the demo shop has for each SKU whatever ``now`` it is made at (its random
    draws change with ``now``): from ``_final_stock`` and ``_stock_rows``, at least 発注点 for a
    SKU in normal stock (5+ units over its open orders, 安全在庫 at most 5), 0 for the low and
    sold-out ones. Sets are not here: they hold no stock of their own."""
    return {
        s.code: 0 if s.code in LOW_STOCK_SKUS + OUT_OF_STOCK_SKUS else s.parent.reorder_point
        for s in _catalogue()
    }


def _ledger(rng: random.Random, now: datetime, skus: list[Sku], orders: list[Order]) -> list[Row]:
    order_moves = _order_moves(orders)
    # Units that leave 実在庫 after the initial 入庫 (shipments, negative adjustments), with when.
    outflow = {s.code: 0 for s in skus}
    allocated = {s.code: 0 for s in skus}
    leaving: list[tuple[str, str, int]] = []  # (日時, SKU, units)
    for m in order_moves:
        sku, kind, qty = str(m["SKU"]), m["区分"], int(m["数量"])
        if kind == "出荷":
            outflow[sku] += qty
            leaving.append((str(m["日時"]), sku, qty))
        else:
            allocated[sku] += qty if kind == "引当" else -qty
    adjust_moves = []
    for days, sku, delta, note in ADJUSTMENTS:
        at = now - timedelta(days=days, hours=3)
        outflow[sku] -= delta
        leaving.append((_fmt(at), sku, -delta))
        adjust_moves.append(_move(f"手動調整:{at:%Y%m%d}:{sku}", at, sku, "手動調整", delta, note=note))
    receipt_moves = [
        _move(move_id, at, sku, "入庫", qty, note=note)
        for at, sku, qty, move_id, note in demo_purchasing.receipts(now)
    ]
    received = {s.code: 0 for s in skus}
    for m in receipt_moves:
        received[str(m["SKU"])] += int(m["数量"])
    start = now - timedelta(days=INITIAL_STOCK_DAYS)
    initial = []
    for s in skus:
        final = _final_stock(rng, s, allocated[s.code])
        if received[s.code] and s.code not in LOW_STOCK_SKUS + OUT_OF_STOCK_SKUS:
            # Enough left that the received goods were never sold before they arrived.
            final = max(final, _least_final(s.code, receipt_moves, leaving))
        if received[s.code] and final < _least_final(s.code, receipt_moves, leaving):
            # demo_purchasing.PLAN receives goods the shop could not have sold before they came.
            raise ValueError(f"demo purchase plan: {s.code} would start or fall below zero")
        # Goods received from suppliers are in the ledger: the initial stock is what is left.
        qty = final + outflow[s.code] - received[s.code]
        initial.append(_move(f"入庫:初期:{s.code}", start, s.code, "入庫", qty, note="初期在庫"))
    # Same-format time strings sort chronologically; the stable sort keeps 引当 before its 解除.
    return sorted(initial + adjust_moves + order_moves + receipt_moves, key=lambda m: m["日時"])


def _least_final(sku: str, receipts: list[Row], leaving: list[tuple[str, str, int]]) -> int:
    """The smallest final 実在庫 for which a SKU's initial stock is at least one unit and its
    stock is never below zero just before a receipt (goods received late in the window would
    otherwise have had to cover sales before they arrived)."""
    received = [(str(m["日時"]), int(m["数量"])) for m in receipts if m["SKU"] == sku]
    out = [(at, qty) for at, s, qty in leaving if s == sku]
    least = sum(q for _, q in received) - sum(q for _, q in out) + 1
    for at, _ in received:
        later_in = sum(q for t, q in received if t >= at)
        later_out = sum(q for t, q in out if t > at)
        least = max(least, later_in - later_out)
    return least


def _stock_rows(rng: random.Random, now: datetime, skus: list[Sku], ledger: list[Row]) -> list[Row]:
    on_hand = {s.code: 0 for s in skus}
    allocated = {s.code: 0 for s in skus}
    for m in ledger:
        sku, kind, qty = str(m["SKU"]), m["区分"], int(m["数量"])
        if kind in ("入庫", "出荷", "手動調整"):
            on_hand[sku] += -qty if kind == "出荷" else qty
        else:
            allocated[sku] += qty if kind == "引当" else -qty
    rows: list[Row] = []
    for s in skus:
        safety = rng.randint(1, 5)
        free = max(0, on_hand[s.code] - allocated[s.code] - safety)
        rows.append(
            {
                "SKU": s.code,
                "実在庫": on_hand[s.code],
                "引当数": allocated[s.code],
                "安全在庫": safety,
                "販売可能数": free,
                "更新日時": _fmt(now),
            }
        )
    return rows


# --- set products (セット商品) -------------------------------------------------------------
# Sets are SKUs of 商品 sold under their own listings; セット構成 says what one set holds. They
# hold no stock: 在庫 shows 実在庫 0 and a 販売可能数 built from the components (sync/sets.py).
# Added after everything drawn from the seeded random, so the rest of the demo is unchanged;
# the seeded order history has no set orders (the demo malls sell sets from the first sync).


class DemoSet(NamedTuple):
    sku: str
    name: str
    price: int
    memo: str
    parts: tuple[tuple[str, int], ...]  # (構成SKU, 数量)
    # Per mall: (モール商品コード, モールSKU), in each mall's own style.
    listings: tuple[tuple[str, str, str], ...]
    popularity: int


SETS: tuple[DemoSet, ...] = (
    DemoSet(
        "SOX-RIB-3P",
        "綿混リブソックス 3足セット ネイビー 23-25cm",
        2700,
        "ネイビー 23-25cm を3足（SOX-RIB-NV-M × 3）",
        (("SOX-RIB-NV-M", 3),),
        (
            ("楽天", "rib-socks-3p", "rib-socks-3p-nv-m"),
            ("Amazon", "B0DR9TNH4W", "SOX-RIB-3P"),
            ("Yahoo!", "sox-rib-3p", ""),
            ("Shopify", "8876543210994", "SOX-RIB-3P"),
        ),
        3,
    ),
    DemoSet(
        "TWL-GIFT-SET",
        "今治タオル ギフトセット 木箱入り",
        6600,
        "フェイスタオル・バスタオル（ホワイト）各1枚を木箱に詰める",
        (("TWL-FACE-WH", 1), ("TWL-BATH-WH", 1)),
        (
            ("楽天", "imabari-towel-giftset", "imabari-towel-giftset-a"),
            ("Amazon", "B0DXK7M2QZ", "TWL-GIFT-SET"),
            ("Yahoo!", "twl-giftset", "twl-giftset-a"),
            ("Shopify", "8876543210987", "TWL-GIFT-SET"),
        ),
        2,
    ),
)


def _set_rows(products: list[Row], stock: list[Row], now: datetime) -> dict[str, list[Row]]:
    """商品・在庫・モール商品・セット構成 rows of the sets, from the components' rows."""
    product = {str(r["SKU"]): r for r in products}
    free = {str(r["SKU"]): int(r["販売可能数"]) for r in stock}
    rows: dict[str, list[Row]] = {"商品": [], "在庫": [], "モール商品": [], "セット構成": []}
    for demo in SETS:
        # No 仕入先, 発注点 or 棚番: a set is not bought, it is packed from its components.
        rows["商品"].append(
            {
                "SKU": demo.sku,
                "商品名": demo.name,
                "販売価格": demo.price,
                "原価": sum(int(product[c]["原価"]) * q for c, q in demo.parts),
                "JANコード": "",
                "仕入先": "",
                "発注点": "",
                "発注ロット": "",
                "リードタイム日数": "",
                "メモ": demo.memo,
                "棚番": "",
            }
        )
        built = min(free[c] // q for c, q in demo.parts)
        rows["在庫"].append(
            {
                "SKU": demo.sku,
                "実在庫": 0,
                "引当数": 0,
                "安全在庫": 0,
                "販売可能数": built,
                "更新日時": _fmt(now),
            }
        )
        for mall, code, mall_sku in demo.listings:
            rows["モール商品"].append(
                {
                    "モール": mall,
                    "SKU": demo.sku,
                    "モール商品コード": code,
                    "モールSKU": mall_sku,
                    "在庫連携": "ON",
                }
            )
        for component, quantity in demo.parts:
            rows["セット構成"].append(
                {"セットSKU": demo.sku, "構成SKU": component, "数量": quantity, "メモ": ""}
            )
    return rows


def demo_shop(now: datetime) -> dict[str, list[Row]]:
    """Demo rows per tab title, consistent across tabs; identical for identical `now`."""
    now = now.astimezone(JST).replace(microsecond=0)
    rng = random.Random(SEED)
    skus = _catalogue()
    listings = _listings(rng, skus)
    orders = _orders(rng, now, skus, listings)
    heads, lines = _order_rows(orders)
    ledger = _ledger(rng, now, skus, orders)
    products = _product_rows(skus)
    stock = _stock_rows(rng, now, skus, ledger)
    sets = _set_rows(products, stock, now)
    return {
        "商品": products + sets["商品"],
        "在庫": stock + sets["在庫"],
        "モール商品": listings + sets["モール商品"],
        "受注": heads,
        "受注明細": lines,
        "在庫移動": ledger,
        "仕入先": demo_purchasing.supplier_rows(),
        "発注": demo_purchasing.order_rows(now),
        "発注明細": demo_purchasing.line_rows(now, {s.code: s.parent.cost for s in skus}),
        "セット構成": sets["セット構成"],
    }
