"""The 同期 page's pure helpers (shop/sync_page.py); the page itself is covered by
tests/test_sync_health.py through AppTest."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from sheets_schema.cells import JST
from shop import sync_health as health
from shop import sync_page
from sync import state


def test_an_unexpected_error_names_only_its_class() -> None:
    text = sync_page.unexpected_message(KeyError("secret-token"))
    assert "KeyError" in text and "secret-token" not in text


def test_the_hint_before_any_sync_depends_on_role_and_background_sync() -> None:
    assert "「今すぐ同期」" in sync_page.never_synced_hint(True, False)
    assert "管理者が同期" in sync_page.never_synced_hint(False, False)
    assert sync_page.never_synced_hint(True, True).startswith("まだ一度も同期していません。デモショップ")


def test_the_push_preview_keeps_never_sent_blank() -> None:
    frame = sync_page.push_plan_frame([{"SKU": "A", "前回送信数": None}, {"SKU": "B", "前回送信数": 3}])
    assert str(frame["前回送信数"].dtype) == "Int64" and frame["前回送信数"].isna().tolist() == [True, False]


def test_an_answered_request_counts_only_runs_since_it_was_asked() -> None:
    asked = datetime(2025, 4, 1, 10, 0, tzinfo=JST)
    answered = {"request": state.request_text(asked, "a@example.com"), "host": "shop-pc", "at": asked}

    def run(minutes: int, created: int, ok: bool = True) -> SimpleNamespace:
        return SimpleNamespace(
            job=health.PULL, created=created, succeeded=ok, started_at=asked + timedelta(minutes=minutes)
        )

    message, failed = sync_page.answered_message(answered, [run(-5, 9), run(1, 2)])
    assert "新規の注文 2 件" in message and "shop-pc" in message and not failed
    message, failed = sync_page.answered_message(answered, [run(1, 0, ok=False)])
    assert failed and message.endswith("確認してください。")
