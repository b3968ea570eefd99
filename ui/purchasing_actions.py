"""What the 返品 and 棚卸 tabs share: flash messages of their own (a page with several tabs runs
every tab each time, so each tab keeps its messages apart and shows them where they belong),
writing one job with the workbook's refusals said in Japanese, and settling the movements just
written into 在庫 with ``run_once(fetch=False)``, as the 受注ボード does."""

from __future__ import annotations

import streamlit as st

from sheets_schema.changes import WriteJob
from sheets_schema.errors import CellConflict, StaleWorkbookError, WorkbookError
from shop.orders import page_text
from sync.errors import LeaseHeld, SyncError
from ui import context
from vocabulary.text import escape_markdown


class Flash:
    """Messages for the top of a tab on the next run; plain text unless ``markdown`` (then
    already escaped): order numbers, SKUs and reasons are shown as typed."""

    def __init__(self, key: str) -> None:
        self.key = key

    def add(self, level: str, message: str, *, markdown: bool = False) -> None:
        st.session_state.setdefault(self.key, []).append(
            (level, message if markdown else escape_markdown(message))
        )

    def show(self) -> None:
        for level, message in st.session_state.pop(self.key, []):
            show = {"success": st.success, "warning": st.warning, "error": st.error}.get(level, st.info)
            show(message, icon={"success": ":material/check_circle:", "error": ":material/error:"}.get(level))


def write(job: WriteJob, flash: Flash, what: str) -> bool:
    """Write one job; False (and why, in Japanese) when the workbook refused it whole."""
    try:
        context.write(job)
    except CellConflict as exc:
        context.after_write()
        flash.add(
            "error",
            f"ほかの人（または同期）が、画面を読み込んだ後に「{exc.tab}」シート {exc.row}行目の「{exc.column}」列を"
            f"変更しました。{what}は登録していません。最新の状態を確かめてから、もう一度登録してください。",
        )
        return False
    except StaleWorkbookError:
        context.after_write()
        flash.add(
            "error",
            f"同じときにほかの人（または同期）が在庫移動に書き込んだため、{what}は登録していません"
            "（何も書き込んでいません）。最新の状態を確かめてから、もう一度登録してください。",
        )
        return False
    except WorkbookError as exc:
        flash.add("error", f"書き込めませんでした（{what}は登録していません）: {exc}")
        return False
    return True


def settle(flash: Flash, *, quiet: bool = False) -> None:
    """Fold what was just written into 在庫 and push it to the malls; a failure only delays it.
    ``quiet``: say nothing when it went well (a read that settles first, not an action)."""
    try:
        report = context.sync_engine().run_once(fetch=False)
    except LeaseHeld:
        flash.add("warning", "ちょうど別の同期が実行中のため、在庫への反映はその次の同期で行われます。")
        return
    except (SyncError, WorkbookError) as exc:
        flash.add("warning", f"在庫への反映ができませんでした（{exc}）。次の同期でもう一度反映します。")
        return
    except Exception as exc:  # a mall's settings or connector: never a traceback for staff
        flash.add(
            "warning",
            f"在庫への反映ができませんでした（{exc.__class__.__name__}）。同期ページで状態を確かめてください。",
        )
        return
    finally:
        context.after_write()
    failed = sum(1 for p in report.pushes if not p.ok)
    if quiet and not failed:
        return
    flash.add("success" if not failed else "warning", page_text.settled_message(report.movements, failed))


def refused(flash: Flash, reasons: list[str]) -> None:
    flash.add("warning", "\n".join(f"- {escape_markdown(r)}" for r in reasons), markdown=True)
