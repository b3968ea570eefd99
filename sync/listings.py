"""商品登録's planner: what each listing should show (from 商品 and モール商品), what is wrong with
it for its mall, and how it differs from what the mall shows now. Pure: no workbook, no HTTP.

Rules (also in the README's モール商品 row):

- 商品名 → ``title`` and 販売価格 → ``price`` unless the モール商品 row has its own モール商品名 /
  販売価格（モール）. キャッチコピー, 商品説明 and タグ are sent only when typed on the row: blank
  means Ichigen does not manage that field and the mall keeps what it has. Tags are compared as
  a set (order, spaces and repeats do not make a difference).
- ``title``, ``tagline`` and ``description`` belong to the mall's item (one Shopify product, one 楽天
  商品管理番号), which several SKUs (rows) may share. Rows of one item must agree on what they
  type there; a title taken from 商品名 is used only when the item has one row (each variant's
  商品名 differs), else the title is left to the mall until モール商品名 is typed.
- A row with a problem (price below 1 or above the mall's limit, a text longer than the mall
  takes, a SKU not in 商品, the category the mall needs missing, rows of one item that disagree)
  is reported naming the sheet, row and column, and nothing is sent for it.
- Compared with the mall: a field is sent only when the mall shows something else; a listing
  the mall does not have is created with every field it has: through the mall's API where it
  creates listings (Shopify, 楽天), else in the mall's bulk-upload file (Amazon, Yahoo!:
  ``by_file``), which staff upload in the mall's own screen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sync.connectors.listings_base import (
    FIELD_LABELS,
    FIELDS,
    ListingChange,
    ListingKey,
    ListingRules,
    ReadResult,
    Value,
    tag_list,
    tags_text,
)

SHEET = "モール商品"
PRODUCTS_SHEET = "商品"
# The モール商品 column each field is typed in.
COLUMNS: Mapping[str, str] = {
    "title": "モール商品名",
    "price": "販売価格（モール）",
    "tagline": "キャッチコピー",
    "description": "商品説明",
    "tags": "タグ",
}


@dataclass(frozen=True)
class ListingRow:
    """One モール商品 row with what 商品 says for its SKU (None: SKU not in 商品)."""

    row: int
    mall: str
    sku: str
    item_code: str
    mall_sku: str = ""
    title: str = ""
    price: int | None = None
    tagline: str = ""
    description: str = ""
    tags: str = ""
    category: str = ""
    product_name: str | None = None
    product_price: int | None = None
    product_row: int | None = None

    @property
    def key(self) -> ListingKey:
        return ListingKey(self.item_code, self.mall_sku or self.sku)


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    message: str
    sheet: str = SHEET

    def __str__(self) -> str:
        return f"「{self.sheet}」シート {self.row}行目 「{self.column}」: {self.message}"


@dataclass(frozen=True)
class Wanted:
    row: ListingRow
    values: dict[str, Value]


@dataclass
class Plan:
    mall: str
    wanted: dict[ListingKey, Wanted] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Difference:
    """One field of one listing where the workbook and the mall differ (a create: every field)."""

    key: ListingKey
    sku: str
    row: int
    field: str
    mall_value: Value | None
    value: Value
    create: bool = False
    category: str = ""

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field)


def by_file(diffs: Sequence[Difference], rules: ListingRules) -> tuple[list[Difference], list[Difference]]:
    """(sent through the mall's API, written to its bulk-upload file): new listings go to the
    file on malls that do not create listings through their API."""
    if rules.creates:
        return list(diffs), []
    return [d for d in diffs if not d.create], [d for d in diffs if d.create]


def measure(text: str, rules: ListingRules) -> int:
    return len(text.encode("utf-8")) if rules.length_unit == "bytes" else len(text)


def _unit(rules: ListingRules) -> str:
    return "バイト（全角1文字は3バイト）" if rules.length_unit == "bytes" else "文字"


def plan(rows: Iterable[ListingRow], rules: ListingRules) -> Plan:
    """What each listing of ``rules.mall`` should show, and the rows that cannot be sent."""
    result = Plan(rules.mall)
    rows = [r for r in rows if r.mall == rules.mall]
    by_item: dict[str, list[ListingRow]] = defaultdict(list)
    for row in rows:
        by_item[row.item_code].append(row)
    bad_rows: set[int] = set()
    for item_rows in by_item.values():
        _check_item(item_rows, rules, result.problems, bad_rows)
    for row in rows:
        values, problems = _row_values(row, rules, single=len(by_item[row.item_code]) == 1)
        if problems or row.row in bad_rows:
            result.problems.extend(problems)
            continue
        if row.key in result.wanted:
            result.problems.append(
                Problem(
                    row.row,
                    "モールSKU",
                    f"{result.wanted[row.key].row.row}行目と同じ出品です。1行にしてください",
                )
            )
            continue
        result.wanted[row.key] = Wanted(row, values)
    result.problems.sort(key=lambda p: (p.sheet, p.row, p.column))
    return result


def _check_item(rows: list[ListingRow], rules: ListingRules, problems: list[Problem], bad: set[int]) -> None:
    """Rows of one item must agree on the item's own fields (on Yahoo! the price too: it is the
    item's, whatever each SKU's 販売価格 on 商品 says)."""
    for name in rules.item_fields:
        if name == "price":  # typed or from 商品: what would be sent
            typed = {r.price if r.price is not None else r.product_price for r in rows} - {None}
        else:
            typed = {getattr(r, name) for r in rows if getattr(r, name)}
        if len(typed) > 1:
            rows_text = "・".join(str(r.row) for r in rows)
            for r in rows:
                problems.append(
                    Problem(
                        r.row,
                        COLUMNS[name],
                        f"同じモール商品コード「{r.item_code}」の行（{rows_text}行目）で違う内容です。"
                        f"{FIELD_LABELS[name]}は商品ごとに1つなので、同じにしてください",
                    )
                )
                bad.add(r.row)


def _row_values(
    row: ListingRow, rules: ListingRules, *, single: bool
) -> tuple[dict[str, Value], list[Problem]]:
    problems: list[Problem] = []
    values: dict[str, Value] = {}
    mall = rules.mall
    if "title" in rules.fields:
        title = row.title or (row.product_name if single else "") or ""
        if title:
            column = COLUMNS["title"] if row.title else "商品名"
            problem = _length_problem(title, "title", rules)
            if problem:
                problems.append(_at(row, column, problem))
            values["title"] = title
    if "price" in rules.fields:
        price = row.price if row.price is not None else row.product_price
        column = COLUMNS["price"] if row.price is not None else "販売価格"
        if price is None:
            problems.append(
                Problem(
                    row.row, "SKU", f"SKU「{row.sku}」が商品シートにないため、{mall}へ送る価格が決まりません"
                )
            )
        elif price < rules.min_price:
            problems.append(
                _at(row, column, f"{mall}へ送る価格は{rules.min_price}円以上にしてください（{price}円）")
            )
        elif price > rules.max_price:
            problems.append(
                _at(row, column, f"{mall}へ送れる価格は{rules.max_price:,}円までです（{price:,}円）")
            )
        else:
            values["price"] = price
    for name in ("tagline", "description", "tags"):
        text = getattr(row, name)
        if name == "tags" and text:
            tags = tag_list(text)
            problem = _tags_problem(tags, rules) if name in rules.fields else ""
            if problem:
                problems.append(_at(row, COLUMNS[name], problem))
            text = tags_text(tags)
        if not text:
            continue
        if name not in rules.fields:
            problems.append(
                Problem(
                    row.row,
                    COLUMNS[name],
                    f"{mall}には{FIELD_LABELS[name]}の項目がありません。空欄にしてください",
                )
            )
            continue
        problem = _length_problem(text, name, rules)
        if problem:
            problems.append(_at(row, COLUMNS[name], problem))
        values[name] = text
    if rules.category_for == "always" and not row.category:
        problems.append(Problem(row.row, "カテゴリ", f"{mall}へ送るには{rules.category_label}が必要です"))
    return values, problems


def _at(row: ListingRow, column: str, message: str) -> Problem:
    if column in ("商品名", "販売価格") and row.product_row is not None:
        return Problem(
            row.product_row, column, f"{message}（{SHEET}シート {row.row}行目の出品）", PRODUCTS_SHEET
        )
    return Problem(row.row, column, message)


def _tags_problem(tags: list[str], rules: ListingRules) -> str:
    if len(tags) > rules.max_tags:
        return f"{rules.mall}のタグは{rules.max_tags}個までです（{len(tags)}個）"
    if rules.numeric_tags:
        wrong = [t for t in tags if not (t.isascii() and t.isdigit())]
        if wrong:
            return f"{rules.mall}のタグはタグIDの数字をカンマ区切りで入れてください（「{wrong[0]}」）"
    if rules.tags_without_spaces:
        spaced = [t for t in tags if len(t.split()) > 1]
        if spaced:
            return (
                f"{rules.mall}の検索キーワードは空白で区切られるため、タグに空白を入れず"
                f"カンマで区切ってください（「{spaced[0]}」）"
            )
    if rules.max_tags_bytes is not None:
        size = sum(len(t.encode("utf-8")) for t in tags)
        if size > rules.max_tags_bytes:
            return (
                f"{rules.mall}のタグ（検索キーワード）は合わせて{rules.max_tags_bytes}バイトまでです"
                f"（{size}バイト。全角1文字は3バイト）"
            )
    too_long = [t for t in tags if len(t) > rules.max_length.get("tag", 255)]
    if too_long:
        return f"{rules.mall}のタグは1つ{rules.max_length.get('tag', 255)}文字までです（「{too_long[0][:20]}…」）"
    return ""


def _length_problem(text: str, name: str, rules: ListingRules) -> str:
    limit = rules.max_length.get(name)
    size = measure(text, rules)
    if limit is not None and size > limit:
        return f"{rules.mall}の{FIELD_LABELS[name]}は{limit}{_unit(rules)}までです（{size}{_unit(rules)}）"
    return ""


def differences(
    result: Plan, read: ReadResult, rules: ListingRules
) -> tuple[list[Difference], list[Problem]]:
    """Fields to send per listing, and listings that cannot go (not readable, not creatable)."""
    diffs: list[Difference] = []
    problems: list[Problem] = []
    sent_item_fields: set[tuple[str, str]] = set()
    for key, wanted in result.wanted.items():
        row = wanted.row
        if key in read.errors:
            problems.append(
                Problem(row.row, "モール商品コード", f"{rules.mall}から読めませんでした: {read.errors[key]}")
            )
            continue
        current = read.found.get(key)
        create = current is None
        if create and rules.category_for == "create" and not row.category:
            problems.append(
                Problem(
                    row.row, "カテゴリ", f"{rules.mall}で新しく出品するには{rules.category_label}が必要です"
                )
            )
            continue
        if create and "title" in rules.fields and "title" not in wanted.values:
            problems.append(
                Problem(row.row, COLUMNS["title"], f"{rules.mall}で新しく出品するにはモール商品名が必要です")
            )
            continue
        for name in FIELDS:
            if name not in wanted.values:
                continue
            # An item's own fields go once per item; a new item lists every SKU with them (a
            # bulk file has one row per item, the API call one body: each takes the first).
            if name in rules.item_fields and not create:
                if (key.item_code, name) in sent_item_fields:
                    continue
                sent_item_fields.add((key.item_code, name))
            value = wanted.values[name]
            mall_value = None if current is None else current.values.get(name)
            if not create and _same(mall_value, value, name):
                continue
            diffs.append(Difference(key, row.sku, row.row, name, mall_value, value, create, row.category))
    return diffs, problems


def _same(mall_value: Value | None, value: Value, name: str = "") -> bool:
    if isinstance(value, int):
        return mall_value == value
    if name == "tags":
        return set(tag_list(str(mall_value or ""))) == set(tag_list(str(value)))
    return (mall_value or "").strip() == str(value).strip()


def changes(diffs: Sequence[Difference]) -> list[ListingChange]:
    """The chosen differences as one change per listing, in the order first chosen."""
    grouped: dict[ListingKey, dict[str, Value]] = {}
    info: dict[ListingKey, Difference] = {}
    for d in diffs:
        grouped.setdefault(d.key, {})[d.field] = d.value
        info.setdefault(d.key, d)
    return [ListingChange(k, v, create=info[k].create, category=info[k].category) for k, v in grouped.items()]
