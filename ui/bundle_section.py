"""The 出荷 page's 同梱 section: proposals (same buyer, same address, open orders) to tick and
confirm, the confirmed groups with 解除, and warnings for groups not ready to ship as one box.
Names through ``mask_name`` for 閲覧, never an address; confirming and undoing are 編集 only.
Each click writes one job (``shipping.bundles``) against a fresh read of 受注."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import streamlit as st

from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import WorkbookError
from sheets_schema.tabs import ORDERS
from shipping import bundles, screen
from shop.privacy import mask_name
from ui import auth, context
from vocabulary.text import escape_markdown

FLASH = "bundle_flash"
_YEN = {"合計金額": st.column_config.NumberColumn("合計金額", format="¥%,d")}


def _table(orders: list, mask: Callable[[str], str] | None) -> None:
    st.dataframe(
        pd.DataFrame(screen.bundle_rows(orders, mask)), hide_index=True, width="stretch", column_config=_YEN
    )


# Groups drawn per rerun: a shop with hundreds of proposals gets them a page at a time (each
# is a table of its own; hundreds of them made every rerun of 出荷 take seconds).
PAGE = 20
OPEN_UP_TO = 3  # proposals shown open; more wait in a closed box


def _page_start(key: str, total: int, what: str) -> int:
    """The index of the first item of the page shown; a page picker when there is more than one."""
    if total <= PAGE:
        return 0
    pages = (total + PAGE - 1) // PAGE
    page = st.number_input(
        f"{what} {total:,} 組（{PAGE} 組ずつ表示）: ページ",
        min_value=1,
        max_value=pages,
        value=1,
        step=1,
        key=key,
        help="チェックして確定できるのは、表示しているページの組です",
    )
    return (int(page) - 1) * PAGE


def _write(make: Callable[[dict], tuple[str, object]]) -> None:
    """Read 受注 again, build the job, write it; the outcome shown after the rerun."""
    try:
        fresh = read_tables(context.workbook(), [ORDERS])
        message, job = make(fresh)
        context.write(job)
    except bundles.BundleError as exc:
        st.session_state[FLASH] = ("error", str(exc))
    except WorkbookError as exc:  # CellConflict among them: nothing written
        context.after_write()
        st.session_state[FLASH] = ("error", f"書き込めませんでした: {exc}")
    else:
        st.session_state[FLASH] = ("success", message)
    st.rerun()


def _confirm(chosen: list[bundles.Proposal]) -> None:
    def make(fresh: dict) -> tuple[str, object]:
        job, made = WriteJob(), []  # every ticked group in one job: all of them or none
        for proposal in chosen:
            ident, _ = bundles.confirm_job(fresh, proposal.keys, datetime.now(JST), job)
            made.append(f"{ident}（{len(proposal.orders)} 件）")
        return f"同梱を確定しました: {'、'.join(made)}", job

    _write(make)


def _undo(ident: str) -> None:
    _write(lambda fresh: (f"同梱「{ident}」を解除しました", bundles.undo_job(fresh, ident)))


def _proposals(
    proposals: list[bundles.Proposal], role: str, masked: bool, mask: Callable[[str], str] | None
) -> None:
    """The proposals, a page at a time, each with its checkbox, and the button confirming them."""
    st.caption(
        "購入者・送付先氏名・郵便番号・住所が同じで、まだ出荷していない注文です（モールが違っても同梱できます。"
        "Amazon の倉庫から出荷する注文は含みません）。まとめる組にチェックを入れて確定してください。"
    )
    chosen = []
    first = _page_start("bundle_proposals_page", len(proposals), "同梱候補")
    for number, proposal in enumerate(proposals[first : first + PAGE], start=first + 1):
        name = proposal.first.recipient_name or proposal.first.buyer_name
        shown = mask(name) if mask else name
        key = "bundle_pick_" + "|".join(f"{m}:{n}" for m, n in proposal.keys)
        if st.checkbox(
            f"同梱候補 {number}: {escape_markdown(shown)} 様 {len(proposal.orders)} 件をまとめる",
            key=key,
            disabled=masked,
        ):
            chosen.append(proposal)
        _table(list(proposal.orders), mask)
    if auth.require(role, "編集", "同梱の確定") and st.button(
        f"チェックした同梱候補を確定する（{len(chosen)} 組）",
        key="bundle_confirm",
        disabled=not chosen,
        icon=":material/package_2:",
    ):
        _confirm(chosen)


def bundle_section(orders: list, role: str) -> None:
    flash = st.session_state.pop(FLASH, None)
    if flash is not None:
        kind, text = flash
        (st.success if kind == "success" else st.error)(escape_markdown(text))
    # Once per read of the workbook (every order's name and address folded), not per rerun.
    proposals, groups, notes = context.derived(
        "bundle_view",
        lambda _t: (bundles.proposals(orders), screen.open_groups(orders), bundles.warnings(orders)),
    )
    if not (proposals or groups or notes):
        return
    st.subheader("同梱（同じお客様・同じお届け先の注文を1つの箱で）")
    masked = not auth.can(role, "編集")
    mask = mask_name if masked else None
    for note in notes:
        st.warning(escape_markdown(note), icon=":material/warning:")
    if proposals:
        # A few proposals are shown at once; many (a big shop's hundreds) wait in a closed
        # box so that the 発送待ち list, the page's daily work, is not pushed far down.
        with st.expander(f"同梱候補 {len(proposals):,} 組", expanded=len(proposals) <= OPEN_UP_TO):
            _proposals(proposals, role, masked, mask)
    if groups:
        with st.expander(f"確定済みの同梱 {len(groups)} 組", expanded=not proposals):
            start = _page_start("bundle_groups_page", len(groups), "確定済みの同梱")
            for ident, members in list(groups.items())[start : start + PAGE]:
                st.markdown(f"**{escape_markdown(ident)}**（{len(members)} 件）")
                _table(members, mask)
                if auth.can(role, "編集") and st.button(
                    f"「{escape_markdown(ident)}」を解除する",
                    key=f"bundle_undo_{ident}",
                    icon=":material/undo:",
                ):
                    _undo(ident)
