"""受注ルール: what the shop does to an order by itself, written as rows of the 受注ルール tab.

Each enabled rule, in 順番, is checked against the order (every filled condition must hold;
blank means any). A matching rule's actions are laid over the order: ステータス (保留 with its
reason appended to 備考), タグ added, 配送会社, a template mail asked for; 「ここで終了」 stops
the later rules. Every change is a ``Change`` with the value before, recorded in _ルール適用
in the same write as the order, so 受注ボード can undo it and a replay never applies it twice
(rules run when an order is created; a later import of the same order is an update).

A rule set with any bad row runs not at all (``RuleSet.problems``): a broken rule that should
have stopped evaluation, or whose action was misread, must not leave the others half-applied.

Pure: the sync engine (on import) and 受注ボード (on demand, and the dry run) call it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.models import Order, OrderLine, OrderRule
from sheets_schema.parsing import Table

# 受注.ルール keeps this many latest notes (each a short line): the full record is _ルール適用.
KEPT_NOTES = 5
GIFT_WORDS = ("ギフト", "のし", "熨斗", "ラッピング", "プレゼント", "贈")
OPEN = ("新規", "入金待ち", "発送待ち", "保留")


def _fold(text: str | None) -> str:
    """Width, case and spaces folded: 「山田　太郎」 and 「山田太郎」 compare equal."""
    return "".join(unicodedata.normalize("NFKC", text or "").lower().split())


def _digits(text: str | None) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text or "") if c.isdigit())


@dataclass(frozen=True)
class OrderFacts:
    """What conditions look at, folded once per order."""

    mall: str
    payment: str
    total: int
    note: str
    skus: frozenset[str]
    address: str
    postcode: str
    buyer: str
    recipient: str
    phone: str

    @classmethod
    def of(cls, order: Order, lines: Iterable[OrderLine]) -> OrderFacts:
        return cls(
            mall=order.mall,
            payment=_fold(order.payment_method),
            total=order.total,
            note=order.note or "",
            skus=frozenset(line.sku for line in lines if line.sku and line.quantity > 0),
            address=_fold(order.address),
            postcode=_digits(order.postcode),
            buyer=_fold(order.buyer_name),
            recipient=_fold(order.recipient_name),
            phone=_digits(order.phone),
        )

    @property
    def gift(self) -> bool:
        sent_to_someone_else = bool(self.recipient) and self.recipient != self.buyer
        return sent_to_someone_else or any(word in self.note for word in GIFT_WORDS)


@dataclass(frozen=True)
class CompiledRule:
    rule: OrderRule
    row: int
    malls: frozenset[str]
    payments: frozenset[str]
    note_words: tuple[str, ...]
    prefectures: tuple[str, ...]
    buyer_names: frozenset[str]
    buyer_phones: frozenset[str]
    skus: frozenset[str]

    @classmethod
    def of(cls, rule: OrderRule, row: int) -> CompiledRule:
        note = rule.note.strip()
        words = (
            ()
            if note in ("", "あり", "なし")
            else tuple(w for w in (s.strip() for s in note.replace(",", "、").split("、")) if w)
        )
        phones = frozenset(d for b in rule.buyers if (d := _digits(b)) and len(d) >= 6)
        names = frozenset(_fold(b) for b in rule.buyers if len(_digits(b)) < 6)
        malls = frozenset(m for m in rule.malls if m != "すべて")
        return cls(
            rule,
            row,
            malls,
            frozenset(_fold(p) for p in rule.payments),
            words,
            tuple(_fold(p) for p in rule.prefectures),
            names,
            phones,
            frozenset(rule.skus),
        )

    def matches(self, facts: OrderFacts) -> bool:
        r = self.rule
        if self.malls and facts.mall not in self.malls:
            return False
        if self.payments and facts.payment not in self.payments:
            return False
        if r.min_total is not None and facts.total < r.min_total:
            return False
        if r.max_total is not None and facts.total > r.max_total:
            return False
        note = r.note.strip()
        if note == "あり" and not facts.note.strip():
            return False
        if note == "なし" and facts.note.strip():
            return False
        if self.note_words and not any(w in facts.note for w in self.note_words):
            return False
        if self.skus and not (self.skus & facts.skus):
            return False
        if self.prefectures and not facts.address.startswith(self.prefectures):
            return False
        if r.postcodes and not any(lo <= facts.postcode <= hi for lo, hi in r.postcodes):
            return False
        if (self.buyer_names or self.buyer_phones) and not (
            facts.buyer in self.buyer_names or (facts.phone and facts.phone in self.buyer_phones)
        ):
            return False
        return r.gift is None or facts.gift == r.gift


@dataclass(frozen=True)
class Change:
    column: str  # 受注's header, or 「メール」 for a mail asked for
    before: str
    after: str


@dataclass(frozen=True)
class Applied:
    rule: str
    changes: tuple[Change, ...]

    def note(self, at: datetime) -> str:
        what = "・".join(
            f"{c.column}→{c.after}" if c.column != "タグ" else f"タグ+{c.after}" for c in self.changes
        )
        return f"{at:%m/%d %H:%M} {self.rule}（{what or '変更なし'}）"


@dataclass
class RuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_table(cls, table: Table[Any] | None) -> RuleSet:
        found = cls()
        if table is None or not table.exists:
            return found
        if not table.writable:
            found.problems.append(
                f"「{table.title}」シートの見出しを読めません（{'／'.join(table.header_problems)}）"
            )
            return found
        found.problems.extend(str(e) for e in table.errors)
        orders = [r for r in table if r.value.enabled]
        found.rules = [
            CompiledRule.of(r.value, r.row) for r in sorted(orders, key=lambda r: (r.value.order, r.row))
        ]
        return found

    @property
    def runs(self) -> bool:
        return bool(self.rules) and not self.problems

    def evaluate(self, order: Order, lines: Sequence[OrderLine]) -> tuple[Order, list[Applied]]:
        """The order with every matching rule's actions laid over it, and what each changed.
        Only open orders are touched (a shipped or cancelled one is history)."""
        if not self.runs or order.status not in OPEN:
            return order, []
        facts = OrderFacts.of(order, lines)
        applied: list[Applied] = []
        for compiled in self.rules:
            if not compiled.matches(facts):
                continue
            order, changes = _act(order, compiled.rule)
            applied.append(Applied(compiled.rule.name, changes))
            if compiled.rule.stop:
                break
        return order, applied


def _act(order: Order, rule: OrderRule) -> tuple[Order, tuple[Change, ...]]:
    changes: list[Change] = []
    update: dict[str, Any] = {}
    if rule.set_status and rule.set_status != order.status:
        changes.append(Change("ステータス", order.status, rule.set_status))
        update["status"] = rule.set_status
        if rule.set_status == "保留":
            held = f"【保留】{rule.hold_reason}（ルール: {rule.name}）"
            note = f"{order.note}\n{held}" if order.note else held
            changes.append(Change("備考", order.note, note))
            update["note"] = note
    if rule.add_tags:
        have = [t for t in (order.tags or "").split("、") if t]
        new = [t for t in rule.add_tags if t not in have]
        if new:
            tags = "、".join([*have, *new])
            changes.append(Change("タグ", order.tags, tags))
            update["tags"] = tags
    if rule.set_carrier and rule.set_carrier != order.carrier:
        changes.append(Change("配送会社", order.carrier or "", rule.set_carrier))
        update["carrier"] = rule.set_carrier
    if rule.send_mail:
        changes.append(Change("メール", "", rule.send_mail))
    return (order.model_copy(update=update) if update else order), tuple(changes)


def with_notes(order: Order, applied: Sequence[Applied], at: datetime) -> Order:
    """受注.ルール with the new notes, the latest ``KEPT_NOTES`` kept."""
    if not applied:
        return order
    notes = [n for n in (order.rules_applied or "").split("\n") if n] + [a.note(at) for a in applied]
    return order.model_copy(update={"rules_applied": "\n".join(notes[-KEPT_NOTES:])})


def action_rows(order: Order, applied: Sequence[Applied], at: datetime, run_id: str) -> list[dict[str, Any]]:
    """_ルール適用 rows for what ``applied`` changed on ``order``."""
    rows = []
    for n, item in enumerate(applied):
        for m, change in enumerate(item.changes):
            rows.append(
                {
                    "適用ID": f"{run_id}:{order.mall}:{order.order_number}:{n}:{m}",
                    "日時": at,
                    "モール": order.mall,
                    "注文番号": order.order_number,
                    "ルール名": item.rule,
                    "列": change.column,
                    "変更前": change.before,
                    "変更後": change.after,
                    "区分": "適用",
                }
            )
    return rows


def summary(applied: Sequence[Applied]) -> str:
    return "・".join(dict.fromkeys(a.rule for a in applied))


__all__ = ["Applied", "Change", "OrderFacts", "RuleSet", "action_rows", "summary", "with_notes"]
