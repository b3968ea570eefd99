"""The registry of connectors: ``type`` in a ``[malls.<channel>]`` section names a module here."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import requests
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from settings import Settings
from sync.connectors.base import ChannelSettings, Connector
from vocabulary import demo_rhythm, demo_shop

# type -> module; every module exposes Settings, Connector and its map_* functions.
CONNECTOR_MODULES: dict[str, str] = {
    "demo": "sync.connectors.demo",
    "csv": "sync.connectors.csv_files",
    "shopify": "sync.connectors.shopify",
    "rakuten": "sync.connectors.rakuten",
    "amazon": "sync.connectors.amazon",
    "yahoo": "sync.connectors.yahoo",
}


def _demo_rate(mall: str) -> dict[str, Any]:
    """The same rhythm as the seeded history (vocabulary.demo_rhythm): ~10 orders a day in all,
    following the day; the mall starts where the seeded history ends."""
    return {
        "orders_per_hour": demo_rhythm.orders_per_hour(mall),
        "daily_rhythm": True,
        "backlog_hours": demo_rhythm.LIVE_BACKLOG_HOURS,
        "repeat_rate": demo_shop.REPEAT_RATE,  # as the seeded history
    }


# What the embedded default runs when no mall is configured: four simulated malls.
DEMO_CHANNELS: dict[str, dict[str, Any]] = {
    "rakuten_demo": {
        "type": "demo",
        "mall": "楽天",
        **_demo_rate("楽天"),
        "display_name": "楽天デモ",
        "seed": 1,
    },
    "amazon_demo": {
        "type": "demo",
        "mall": "Amazon",
        **_demo_rate("Amazon"),
        "display_name": "Amazonデモ",
        "seed": 2,
    },
    "yahoo_demo": {
        "type": "demo",
        "mall": "Yahoo!",
        **_demo_rate("Yahoo!"),
        "display_name": "Yahoo!デモ",
        "seed": 3,
    },
    "shopify_demo": {
        "type": "demo",
        "mall": "Shopify",
        **_demo_rate("Shopify"),
        "display_name": "Shopifyデモ",
        "seed": 4,
    },
}


class ChannelConfigError(Exception):
    """A [malls.*] section is wrong; the message names the section and key in Japanese."""


def connector_module(kind: str) -> ModuleType:
    if kind not in CONNECTOR_MODULES:
        known = "、".join(CONNECTOR_MODULES)
        raise ChannelConfigError(f'type = "{kind}" のモール連携はありません（使えるのは {known}）')
    return importlib.import_module(CONNECTOR_MODULES[kind])


def channel_sections(settings: Settings) -> dict[str, Mapping[str, Any]]:
    if settings.malls:
        return dict(settings.malls)
    if settings.backend == "sql" and settings.workbook.seed_demo:
        # The demo malls live beside their workbook: a new workbook meets new demo malls.
        url = make_url(settings.sql_url())
        if url.get_backend_name() != "sqlite":  # a database server: one folder per database in data/
            state_dir = Path("data") / "demo_malls" / (url.database or "default")
        elif url.database and url.database != ":memory:":
            state_dir = Path(url.database).parent / "demo_malls"
        else:
            state_dir = Path("data") / "demo_malls"
        return {k: {**v, "state_dir": str(state_dir)} for k, v in DEMO_CHANNELS.items()}
    return {}


def channel_settings(channel: str, section: Mapping[str, Any]) -> ChannelSettings:
    module = connector_module(str(section.get("type", "")))
    try:
        return module.Settings.model_validate(dict(section))
    except ValidationError as exc:
        problems = "、".join(f"{'.'.join(map(str, e['loc']))}（{e['msg']}）" for e in exc.errors())
        raise ChannelConfigError(f"[malls.{channel}] の設定に誤りがあります: {problems}") from exc


def build_connectors(
    settings: Settings,
    *,
    session_factory: Callable[[], requests.Session] = requests.Session,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[Connector]:
    """Every enabled channel's connector, in settings order. Edges are injectable for tests."""
    connectors = []
    for channel, section in channel_sections(settings).items():
        parsed = channel_settings(channel, section)
        if not parsed.enabled:
            continue
        module = connector_module(parsed.type)
        options: dict[str, Any] = {"session": session_factory(), "project_root": settings_root()}
        if clock is not None:
            options["clock"] = clock
        if sleep is not None:
            options["sleep"] = sleep
        connectors.append(module.Connector(channel, parsed, **options))
    return connectors


def settings_root() -> Any:
    from settings import PROJECT_ROOT

    return PROJECT_ROOT
