"""The Shopify shop of tests/shopify_shop.py with set products (セット商品) beside its SKUs."""

from __future__ import annotations

from pathlib import Path

from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from tests.fakes.shopify_api import FakeShopify
from tests.shopify_shop import ShopifyShop, open_shopify_shop

# (セットSKU, 商品名, 販売価格, ((構成SKU, 数量), …)). TSH-WH-M is in two sets and sold alone;
# SET-NEST holds another set.
SETS = (
    ("SET-TSH2", "Tシャツ 白 2枚セット", 5500, (("TSH-WH-M", 2),)),
    ("SET-GIFT", "Tシャツと手ぬぐいのギフト", 4800, (("TSH-WH-M", 1), ("00123", 2))),
    ("SET-NEST", "Tシャツ 3枚セット", 8000, (("SET-TSH2", 1), ("TSH-NV-M", 1))),
)


def open_set_shop(fake: FakeShopify, folder: Path, **options: object) -> ShopifyShop:
    shop = open_shopify_shop(fake, folder, **options)  # type: ignore[arg-type]
    tables = read_tables(shop.workbook)
    job = WriteJob()
    for sku, name, price, parts in SETS:
        (variant,) = fake.add_product(name, [(sku, "", price)])
        shop.variants[sku] = variant
        job.append(tables["商品"], [{"SKU": sku, "商品名": name, "販売価格": price}])
        listing = {
            "モール": "Shopify",
            "SKU": sku,
            "モール商品コード": str(variant.product_id),
            "モールSKU": sku,
        }
        job.append(tables["モール商品"], [listing])
        job.append(tables["セット構成"], [{"セットSKU": sku, "構成SKU": c, "数量": q} for c, q in parts])
    shop.workbook.write(job)
    return shop


def stock_rows(shop: ShopifyShop) -> dict[str, tuple[int, int, int]]:
    """SKU -> (実在庫, 引当数, 販売可能数) as 在庫 shows them."""
    return {s.sku: (s.on_hand, s.allocated, s.available) for s in shop.tables()["在庫"].models()}
