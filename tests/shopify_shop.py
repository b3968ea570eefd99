"""A small shop selling on Shopify (the contract-following fake over loopback) and, beside it,
a demo mall: for engine-level fault tests and the property test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from settings import SyncSettings
from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.archive import Archive
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.workbook import Workbook
from sync.connectors.shopify import Connector as ShopifyConnector
from sync.connectors.shopify import Settings as ShopifySettings
from sync.engine import SyncEngine
from tests.fakes.shopify_api import DEFAULT_TOKEN, FakeShopify, Variant
from tests.shop_fixtures import Clock, staff_edit

CATALOGUE = (
    ("TSH-WH-M", "Tシャツ 白 M", 2980, 20, 2),
    ("TSH-NV-M", "Tシャツ 紺 M", 2980, 8, 1),
    ("00123", "手ぬぐい", 1100, 5, 0),
)


@dataclass
class ShopifyShop:
    workbook: Workbook
    fake: FakeShopify
    clock: Clock
    variants: dict[str, Variant]
    connector: ShopifyConnector
    sleeps: list[float]
    sync: SyncSettings
    archive: Archive

    def engine(self, connectors: list[Any] | None = None, **options: Any) -> SyncEngine:
        options.setdefault("archive", self.archive)
        return SyncEngine(
            self.workbook, connectors or [self.connector], self.sync, clock=self.clock, **options
        )

    def tables(self) -> dict[str, Any]:
        return read_tables(self.workbook)

    def order(self, *lines: tuple[str, int], **options: Any) -> dict:
        made = self.fake.add_order([(self.variants[sku], q) for sku, q in lines], at=self.clock(), **options)
        self.clock.advance(minutes=1)  # the engine fetches [since, now): let the order be in the past
        return made

    def reconnect(self, **settings: Any) -> None:
        """The same channel with other settings (page size, timeouts)."""
        self.connector = _connector(self.fake, self.sleeps, **settings)

    def staff_edit(self, tab: str, key: tuple[str, ...], values: dict[str, Any]) -> None:
        staff_edit(self.workbook, tab, key, values)


def open_shopify_shop(
    fake: FakeShopify, folder: Path, workbook: Workbook | None = None, archive_url: str | None = None
) -> ShopifyShop:
    clock = Clock()
    fake.clock = clock
    workbook = workbook or SqlWorkbook(f"sqlite:///{folder / 'wb.sqlite3'}")
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    variants: dict[str, Variant] = {}
    job = WriteJob()
    for sku, name, price, on_hand, safety in CATALOGUE:
        (variant,) = fake.add_product(name, [(sku, "", price)])
        variants[sku] = variant
        job.append(tables["商品"], [{"SKU": sku, "商品名": name, "販売価格": price}])
        job.append(tables["在庫"], [{"SKU": sku, "実在庫": on_hand, "安全在庫": safety}])
        listing = {
            "モール": "Shopify",
            "SKU": sku,
            "モール商品コード": str(variant.product_id),
            "モールSKU": sku,
        }
        job.append(tables["モール商品"], [listing])
    workbook.write(job)
    sleeps: list[float] = []
    connector = _connector(fake, sleeps)
    clock.advance(minutes=1)
    archive = Archive(archive_url or f"sqlite:///{folder / 'archive.sqlite3'}")
    return ShopifyShop(
        workbook, fake, clock, variants, connector, sleeps, SyncSettings(lease_seconds=60), archive
    )


def _connector(fake: FakeShopify, sleeps: list[float], **overrides: Any) -> ShopifyConnector:
    settings = ShopifySettings.model_validate(
        {
            "type": "shopify",
            "base_url": fake.base_url,
            "access_token": DEFAULT_TOKEN,
            "max_retries": 2,
            **overrides,
        }
    )
    return ShopifyConnector(
        "shopify", settings, session=requests.Session(), project_root=Path("."), sleep=sleeps.append
    )
