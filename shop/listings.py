"""商品登録's screen logic: the モール商品 rows with 商品's values, the listing clients of the malls
configured, the comparison with a mall, and sending chosen differences with one record job.

The planner itself (checks and differences) is ``sync/listings.py``; the clients are
``sync/connectors/<mall>_listings.py`` (the demo malls: ``demo_listings.py``). New listings
on malls that create them only from a file (Amazon, Yahoo!) go to that file (``upload_file``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import requests

from settings import Settings
from sheets_schema.changes import WriteJob
from sheets_schema.models import ListingSend
from sheets_schema.parsing import Table
from sheets_schema.tabs import LISTING_SENDS, MALL_LISTINGS, PRODUCTS
from sync import listings
from sync.connectors import channel_sections, channel_settings, settings_root
from sync.connectors.listing_rules import RULES_BY_MALL
from sync.connectors.listings_base import FIELD_LABELS, ListingOutcome, ListingRules, Listings, UploadFile

# type -> the module with ``Listings`` (built on the stock connector's Settings).
LISTING_MODULES: Mapping[str, str] = {
    "shopify": "sync.connectors.shopify_listings",
    "rakuten": "sync.connectors.rakuten_listings",
    "amazon": "sync.connectors.amazon_listings",
    "yahoo": "sync.connectors.yahoo_listings",
    "demo": "sync.connectors.demo_listings",
}
TABS = (PRODUCTS, MALL_LISTINGS, LISTING_SENDS)


def listing_rows(products: Table[Any], mall_listings: Table[Any]) -> list[listings.ListingRow]:
    """Every valid モール商品 row with its SKU's 商品名 and 販売価格."""
    by_sku = {r.value.sku: r for r in products}
    rows = []
    for record in mall_listings:
        m = record.value
        product = by_sku.get(m.sku)
        rows.append(
            listings.ListingRow(
                row=record.row,
                mall=m.mall,
                sku=m.sku,
                item_code=m.mall_item_code,
                mall_sku=m.mall_sku or "",
                title=m.title,
                price=m.price,
                tagline=m.tagline,
                description=m.description,
                tags=m.tags,
                category=m.category,
                product_name=product.value.name if product else None,
                product_price=product.value.price if product else None,
                product_row=product.row if product else None,
            )
        )
    return rows


@dataclass(frozen=True)
class Channel:
    channel: str
    mall: str
    display_name: str
    kind: str
    rules: ListingRules | None

    @property
    def sends(self) -> bool:
        return self.kind in LISTING_MODULES


def channels(settings: Settings) -> list[Channel]:
    found = []
    for channel, section in channel_sections(settings).items():
        parsed = channel_settings(channel, section)
        if parsed.enabled:
            rules = RULES_BY_MALL.get(parsed.mall) if parsed.type in LISTING_MODULES else None
            if rules is not None:
                rules = replace(rules, mall=parsed.mall)
            found.append(
                Channel(channel, parsed.mall, parsed.display_name or parsed.mall, parsed.type, rules)
            )
    return found


def client(settings: Settings, channel: Channel, session: requests.Session | None = None) -> Listings:
    section = channel_sections(settings)[channel.channel]
    module = importlib.import_module(LISTING_MODULES[channel.kind])
    parsed = module.Settings.model_validate(dict(section))
    return module.Listings(
        channel.channel, parsed, session=session or requests.Session(), project_root=settings_root()
    )


@dataclass
class Comparison:
    differences: list[listings.Difference] = field(default_factory=list)
    problems: list[listings.Problem] = field(default_factory=list)
    # New listings for the mall's bulk-upload file (malls that do not create through their API),
    # the file made once with the comparison, or why it cannot be made.
    new_by_file: list[listings.Difference] = field(default_factory=list)
    upload: UploadFile | None = None
    upload_problem: str = ""


def compare(listing_client: Listings, rows: Sequence[listings.ListingRow]) -> Comparison:
    """Read the mall for the mall's rows (the calls happen here) and diff it."""
    rules = listing_client.rules
    planned = listings.plan(rows, rules)
    read = listing_client.read(list(planned.wanted))
    diffs, problems = listings.differences(planned, read, rules)
    sent, filed = listings.by_file(diffs, rules)
    found = Comparison(sent, sorted([*planned.problems, *problems], key=lambda p: (p.sheet, p.row)), filed)
    if filed:
        try:
            found.upload = upload_file(listing_client, filed)
        except ValueError as exc:  # a character or code the file cannot hold, named
            found.upload_problem = str(exc)
    return found


def upload_file(listing_client: Listings, new: Sequence[listings.Difference]) -> UploadFile:
    """The mall's bulk-upload file for these new listings (no call to the mall)."""
    return listing_client.upload_file(listings.changes(new))  # type: ignore[attr-defined]


def diff_table(diffs: Sequence[listings.Difference]) -> list[dict[str, Any]]:
    return [
        {
            "行": d.row,
            "SKU": d.sku,
            "モール商品コード": d.key.item_code,
            "項目": d.label,
            "モールの内容": "（新規）" if d.create else _shown(d.mall_value),
            "ワークブック": _shown(d.value),
        }
        for d in diffs
    ]


def notices(outcomes: Sequence[ListingOutcome]) -> list[str]:
    """What a mall said about changes it took: saved but not yet shown to buyers (Yahoo!'s
    publish refused), each text once. Staff must see these, not only a success."""
    return list(dict.fromkeys(o.error for o in outcomes if o.ok and o.error))


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}円"
    text = str(value)
    return text if len(text) <= 60 else text[:60] + "…"


def send(
    listing_client: Listings,
    chosen: Sequence[listings.Difference],
    *,
    by: str,
    now: datetime,
    read_sends: Callable[[], Table[Any]],
    write: Callable[[WriteJob], None],
) -> list[ListingOutcome]:
    """Send the chosen differences, then record every field's result in _出品送信 (one job)."""
    outcomes = listing_client.send(listings.changes(chosen))
    sku_of = {d.key: d.sku for d in chosen}
    table = read_sends()
    stamp = now.strftime("%Y%m%d%H%M%S%f")
    job = WriteJob()
    job.append(
        table,
        [
            ListingSend(
                id=f"{stamp}-{i}",
                at=now,
                mall=listing_client.mall,
                mall_item_code=o.key.item_code,
                mall_sku=o.key.sku,
                sku=sku_of.get(o.key, ""),
                field_name=FIELD_LABELS.get(o.field, o.field),
                value=str(o.value),
                result="反映待ち" if o.ok and o.pending else ("成功" if o.ok else "失敗"),
                error=o.error,
                by=by,
            )
            for i, o in enumerate(outcomes)
        ],
    )
    if job:
        write(job)
    return outcomes
