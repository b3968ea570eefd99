"""楽天, Amazon and Yahoo! configured against their local servers: `python -m sync once` imports
their orders and pushes stock to all of them; once staff mark the orders shipped with a carrier
and a tracking number, the next run confirms the shipments to each mall."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from settings import load_settings_file
from sheets_schema.book import ensure_tabs, open_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sync.__main__ import main
from tests.fakes import amazon_api, rakuten_api, yahoo_api
from tests.fakes.amazon_api import FakeAmazon
from tests.fakes.rakuten_api import FakeRakuten
from tests.fakes.yahoo_api import FakeYahoo
from tests.shop_fixtures import ledger_problems, staff_edit

# SKU, name, price, 実在庫, 安全在庫, 楽天 (管理番号, SKU管理番号), Amazon ASIN, Yahoo! (商品コード, サブコード)
CATALOGUE = (
    ("TSH-WH-M", "Tシャツ 白 M", 2980, 20, 2, ("tshirt", "wh-m"), "B0ICHIGEN1", ("tshirt", "tshirt-wh-m")),
    ("00123", "手ぬぐい", 1100, 9, 0, ("tenugui", "tenugui-1"), "B0ICHIGEN3", ("tenugui", "")),
)


@pytest.fixture
def malls() -> Iterator[tuple[FakeRakuten, FakeAmazon, FakeYahoo]]:
    with FakeRakuten() as rakuten, FakeAmazon() as amazon, FakeYahoo() as yahoo:
        yield rakuten, amazon, yahoo


def secrets_for(folder: Path, rakuten: FakeRakuten, amazon: FakeAmazon, yahoo: FakeYahoo) -> Path:
    path = folder / "secrets.toml"
    path.write_text(
        f"""
[workbook]
sql_url = "sqlite:///{folder / "wb.sqlite3"}"
seed_demo = false

[malls.rakuten]
type = "rakuten"
base_url = "{rakuten.base_url}"
service_secret = "{rakuten_api.DEFAULT_SECRET}"
license_key = "{rakuten_api.DEFAULT_LICENSE}"

[malls.amazon]
type = "amazon"
base_url = "{amazon.base_url}"
lwa_token_url = "{amazon.token_url}"
client_id = "{amazon_api.CLIENT_ID}"
client_secret = "{amazon_api.CLIENT_SECRET}"
refresh_token = "{amazon_api.REFRESH_TOKEN}"
seller_id = "{amazon_api.SELLER_ID}"

[malls.yahoo]
type = "yahoo"
base_url = "{yahoo.base_url}"
token_url = "{yahoo.token_url}"
client_id = "{yahoo.client_id}"
client_secret = "{yahoo.client_secret}"
refresh_token = "{yahoo.refresh_token}"
seller_id = "{yahoo.seller_id}"
public_key = {json.dumps(yahoo_api.public_pem())}
""",
        encoding="utf-8",
    )
    return path


def test_sync_once_imports_pushes_and_confirms_shipments_on_all_three(
    malls: tuple[FakeRakuten, FakeAmazon, FakeYahoo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rakuten, amazon, yahoo = malls
    secrets = secrets_for(tmp_path, rakuten, amazon, yahoo)
    workbook = open_workbook(load_settings_file(secrets, {}))
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    r_items, y_items = {}, {}
    for sku, name, price, on_hand, safety, (manage, variant), asin, (code, sub) in CATALOGUE:
        job.append(tables["商品"], [{"SKU": sku, "商品名": name, "販売価格": price}])
        job.append(tables["在庫"], [{"SKU": sku, "実在庫": on_hand, "安全在庫": safety}])
        job.append(
            tables["モール商品"],
            [
                {"モール": "楽天", "SKU": sku, "モール商品コード": manage, "モールSKU": variant},
                {"モール": "Amazon", "SKU": sku, "モール商品コード": asin, "モールSKU": sku},
                {"モール": "Yahoo!", "SKU": sku, "モール商品コード": code, "モールSKU": sub},
            ],
        )
        r_items[sku] = rakuten_api.Item(manage, variant, name, price)
        amazon.add_listing(sku, asin, name, price)
        y_items[sku] = yahoo_api.Item(code, sub, name, price, 1)
    workbook.write(job)

    placed = datetime.now(JST) - timedelta(minutes=10)  # Amazon lists changes older than 2 minutes
    r_order = rakuten.add_order([(r_items["TSH-WH-M"], 2)], at=placed)
    a_order = amazon.add_order([("TSH-WH-M", 1)], at=placed)
    y_order = yahoo.add_order([y_items["00123"]], at=placed)

    assert main(["--secrets", str(secrets), "--quiet", "once"]) == 0
    out = capsys.readouterr().out
    assert out.count("新規 1") == 3, out
    orders = {o.mall: o for o in read_tables(workbook)["受注"].models()}
    assert set(orders) == {"楽天", "Amazon", "Yahoo!"}
    stock = {s.sku: s for s in read_tables(workbook)["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (3, 1)
    assert amazon.listing_quantity("TSH-WH-M") == stock["TSH-WH-M"].available == 20 - 3 - 2
    assert yahoo.stock["tenugui"] == stock["00123"].available == 9 - 1
    assert rakuten.calls("/es/2.0/inventories/bulk-upsert")  # 楽天 got its stock too
    assert ledger_problems(read_tables(workbook)) == []

    for mall, number in (
        ("楽天", r_order["orderNumber"]),
        ("Amazon", a_order["AmazonOrderId"]),
        ("Yahoo!", y_order["OrderId"]),
    ):
        staff_edit(
            workbook,
            "受注",
            (mall, number),
            {"ステータス": "出荷済", "配送会社": "ヤマト運輸", "追跡番号": "4321-0000-1111"},
        )
    assert main(["--secrets", str(secrets), "--quiet", "once"]) == 0
    assert "出荷連絡 3 件" in capsys.readouterr().out
    notices = {o.mall: o.shipment_notice for o in read_tables(workbook)["受注"].models()}
    assert all(n.startswith("済 ") for n in notices.values()), notices
    assert ledger_problems(read_tables(workbook)) == []
