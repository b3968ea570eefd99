"""受注ボード's 「ルール」 tab: the 受注ルール rows and their problems, the dry run of one rule over
the last N days (before it is switched ON), and applying the ON rules to open orders now; and
the 「ルールの変更を元に戻す」 button of an order's detail. Logic in shop.orders.rules."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.errors import CellConflict, WorkbookError
from sheets_schema.tabs import MAIL_TEMPLATES, ORDER_RULES, ORDERS, RULE_ACTIONS, SYSTEM_STATE
from shop.orders import page_text
from shop.orders import rules as board_rules
from sync.rules import RuleSet
from ui import auth, context, order_actions
from ui.archive import earlier_orders
from vocabulary.text import escape_markdown

DRY_RUN_DAYS = (7, 30, 90)


def rules_tab(role: str) -> None:
    tables = context.snapshot().tables
    table = tables[ORDER_RULES.title]
    found = RuleSet.from_table(table, tables[MAIL_TEMPLATES.title])
    st.caption(
        "受注ルールシートの行です。取り込んだ注文に、順番の小さいルールから、条件に合えば処理を行います。"
        "シートで条件や処理を書き換え、ここで過去の注文での結果を確かめてから「有効」を ON にしてください。"
    )
    for problem in found.problems:
        st.error(escape_markdown(problem), icon=":material/error:")
    if found.problems:
        st.warning(
            "誤りを直すまで、どのルールも実行しません（一部だけ実行して処理が中途半端になるのを防ぐため）。"
        )
    rules = sorted((r.value for r in table.records), key=lambda r: r.order)
    if not rules:
        st.info("受注ルールシートにルールがありません。", icon=":material/info:")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "順番": r.order,
                    "ルール名": r.name,
                    "有効": "ON" if r.enabled else "OFF",
                    "条件": _conditions(r),
                    "処理": _actions(r),
                }
                for r in rules
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown("**試しに実行（書き込みません）**")
    left, right = st.columns([3, 1])
    name = left.selectbox("ルール", [r.name for r in rules], key="rules_dry_name")
    days = right.selectbox("期間", DRY_RUN_DAYS, format_func=lambda d: f"過去{d}日", key="rules_dry_days")
    rule = next(r for r in rules if r.name == name)
    rows = board_rules.dry_run(tables, rule, days=days, now=datetime.now(JST), earlier=earlier_orders())
    st.caption(
        f"「{escape_markdown(name)}」を過去{days}日の注文に取り込みのときに実行していたら、{len(rows)} 件に次の処理をしていました"
        "（今のステータスが出荷済・キャンセルの注文も、取り込んだときの状態で試します）。"
    )
    if rows:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "モール": r.mall,
                        "注文番号": r.order_number,
                        "注文日時": f"{r.ordered_at:%Y-%m-%d %H:%M}",
                        "今のステータス": r.status,
                        "処理": r.would,
                    }
                    for r in rows
                ]
            ),
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(rows), 320),
            key="rules_dry_table",
        )
    if auth.require(role, "編集", "ルールの適用") and st.button(
        "有効なルールを未発送の注文に今すぐ適用",
        icon=":material/rule:",
        key="rules_apply_now",
        disabled=not found.runs,
    ):
        _apply_now()


def _conditions(rule) -> str:
    parts = []
    for label, value in (
        ("モール", "・".join(rule.malls)),
        ("支払方法", "・".join(rule.payments)),
        (
            "金額",
            f"{rule.min_total or ''}〜{rule.max_total or ''}" if rule.min_total or rule.max_total else "",
        ),
        ("備考", rule.note),
        ("SKU", "・".join(rule.skus)),
        ("都道府県", "・".join(rule.prefectures)),
        ("郵便番号", "、".join(f"{lo[:3]}-{lo[3:]}〜{hi[:3]}-{hi[3:]}" for lo, hi in rule.postcodes)),
        ("購入者", "・".join(rule.buyers)),
        ("ギフト", "" if rule.gift is None else ("ON" if rule.gift else "OFF")),
    ):
        if value:
            parts.append(f"{label}: {value}")
    return "、".join(parts) or "すべての注文"


def _actions(rule) -> str:
    parts = []
    if rule.set_status:
        parts.append(
            f"ステータス→{rule.set_status}" + (f"（{rule.hold_reason}）" if rule.hold_reason else "")
        )
    if rule.add_tags:
        parts.append("タグ+" + "・".join(rule.add_tags))
    if rule.set_carrier:
        parts.append(f"配送会社→{rule.set_carrier}")
    if rule.send_mail:
        parts.append(f"メール「{rule.send_mail}」")
    if rule.stop:
        parts.append("ここで終了")
    return "、".join(parts)


def _apply_now() -> None:
    with st.spinner("ルールを適用しています…"):
        try:
            fresh = read_tables(context.workbook(), board_rules.APPLY_TABS)
            result = board_rules.apply_now(fresh, now=datetime.now(JST), earlier=earlier_orders())
            if result.job:
                context.write(result.job)
        except CellConflict as exc:
            context.after_write()
            order_actions.flash("error", page_text.conflict_message(exc))
            return
        except WorkbookError as exc:
            order_actions.flash("error", f"書き込めませんでした: {exc}")
            return
    for problem in result.problems:
        order_actions.flash("warning", problem)
    if result.changed:
        order_actions.flash(
            "success", f"{len(result.changed)} 件の注文にルールを適用しました（受注の「ルール」列に記録）"
        )
        order_actions.settle()
    elif not result.problems:
        order_actions.flash("info", "ルールで変わる注文はありませんでした")
    st.rerun()


def undo_button(key: tuple[str, str], rules_note: str) -> None:
    """Under an order's detail: what rules did, and the button that puts it back."""
    if not rules_note:
        return
    st.caption("受注ルールの記録: " + escape_markdown(rules_note.replace("\n", " ／ ")))
    if st.button("ルールの変更を元に戻す", icon=":material/undo:", key=f"rules_undo_{key[0]}_{key[1]}"):
        with st.spinner("元に戻しています…"):
            try:
                fresh = read_tables(context.workbook(), [ORDERS, RULE_ACTIONS, SYSTEM_STATE])
                result = board_rules.undo(fresh, key, now=datetime.now(JST))
                if result.job:
                    context.write(result.job)
            except CellConflict as exc:
                context.after_write()
                order_actions.flash("error", page_text.conflict_message(exc))
                st.rerun()
            except WorkbookError as exc:
                order_actions.flash("error", f"書き込めませんでした: {exc}")
                st.rerun()
        for problem in result.problems:
            order_actions.flash("warning", problem)
        if result.changed:
            order_actions.flash("success", f"注文 {key[1]} のルールによる変更を元に戻しました")
            order_actions.settle()
        st.rerun()
