"""Listings of a demo mall, so 商品登録 works on the embedded default without any mall account.

A demo mall lists the demo shop's catalogue (``demo.catalogue``) under the rules of the mall it
stands for (楽天デモ takes 楽天's byte limits and creates new items; Amazonデモ and Yahoo!デモ
create new listings only from their bulk-upload file, as the real malls do).

What the mall shows: 商品名 and 販売価格 from the demo shop, except a few listings whose price
was changed in the mall's own admin screen (``DRIFTED_SHARE`` of them, chosen by a hash of the
listing so the same ones every time: 100円 below the workbook, as after a price rise typed only
in the workbook). A fresh demo therefore has a handful of differences to read and send.

What was sent is kept in ``<state_dir>/<channel>.listings.json`` (next to the demo mall's order
state, written atomically) and shown on the next read; deleting it starts the listings afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from sync.connectors import demo
from sync.connectors.listing_rules import RULES_BY_MALL, upload_file_for
from sync.connectors.listings_base import (
    ListingChange,
    ListingKey,
    ListingOutcome,
    ListingRules,
    MallListing,
    ReadResult,
    UploadFile,
    Value,
    outcomes,
)
from sync.errors import MallPayloadError

Settings = demo.Settings
DRIFTED_SHARE = 0.08  # of a mall's listings show an older price
PRICE_DRIFT = -100


@cache
def mall_listings(mall: str) -> Mapping[ListingKey, Mapping[str, Value]]:
    """Each listing of the demo mall as it starts: keyed as the モール商品 row names it."""
    tabs = demo._shop_tabs()
    products = {str(r["SKU"]): r for r in tabs["商品"]}
    found: dict[ListingKey, dict[str, Value]] = {}
    for row in tabs["モール商品"]:
        if row["モール"] != mall:
            continue
        sku, mall_sku = str(row["SKU"]), str(row["モールSKU"])
        product = products[sku]
        found[ListingKey(str(row["モール商品コード"]), mall_sku or sku)] = {
            "title": str(product["商品名"]),
            "price": int(product["販売価格"]),
            "tagline": "",
            "description": "",
            "tags": "",
        }
    for key in _drifted(mall, list(found)):
        found[key]["price"] = int(found[key]["price"]) + PRICE_DRIFT
    return found


def _drifted(mall: str, keys: list[ListingKey]) -> list[ListingKey]:
    """The listings whose price was changed at the mall: the same ones on every machine."""

    def rank(key: ListingKey) -> bytes:
        return hashlib.sha256(f"{mall}\0{key.item_code}\0{key.sku}".encode()).digest()

    return sorted(keys, key=rank)[: max(1, round(DRIFTED_SHARE * len(keys)))]


class Listings(demo.Connector):
    """A demo mall's listings; one instance per ``[malls.<channel>]`` with ``type = "demo"``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules: ListingRules = replace(RULES_BY_MALL[self.mall], mall=self.mall)
        self.calls = 0
        self.listings_path = self.state_path.with_name(f"{self.state_path.stem}.listings.json")

    def _sent(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.listings_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise MallPayloadError(
                f"{self.display_name}の出品ファイル {self.listings_path} を読めません"
                f"（{exc.__class__.__name__}）。削除するとデモの出品を最初からやり直せます"
            ) from exc
        return data if isinstance(data, dict) else {}

    def _current(self) -> dict[ListingKey, dict[str, Value]]:
        current = {k: dict(v) for k, v in mall_listings(self.mall).items()}
        for text, values in self._sent().items():
            key = ListingKey(*json.loads(text))
            current.setdefault(key, {}).update(values)
        return current

    def read(self, keys: Sequence[ListingKey]) -> ReadResult:
        self.calls += 1
        current = self._current()
        result = ReadResult()
        for key in keys:
            if key in current:
                result.found[key] = MallListing(key, dict(current[key]))
            else:
                result.missing.add(key)
        return result

    def send(self, changes: Sequence[ListingChange]) -> list[ListingOutcome]:
        self.calls += 1
        current = self._current()
        sent = self._sent()
        results: list[ListingOutcome] = []
        for change in changes:
            if change.key not in current and not (change.create and self.rules.creates):
                error = (
                    "一括登録のファイルで作ってください"
                    if change.create
                    else f"{self.display_name}にこの出品がありません"
                )
                results.extend(outcomes(change, ok=False, error=error))
                continue
            entry = sent.setdefault(
                json.dumps([change.key.item_code, change.key.sku], ensure_ascii=False), {}
            )
            entry.update(change.values)
            results.extend(outcomes(change, ok=True))
        demo.write_json_atomically(self.listings_path, sent)
        return results

    def upload_file(self, changes: Sequence[ListingChange]) -> UploadFile:
        return upload_file_for(self.mall, changes, seller=f"DEMO-{self.channel}", now=self._now())


def listings_file(project_root: Path, settings: Settings, channel: str) -> Path:
    """Where a demo mall keeps what 商品登録 sent (for tests and the README)."""
    return Listings(channel, settings, project_root=project_root).listings_path
