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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from sheets_schema.models import Order, OrderLine, OrderRule
from sheets_schema.parsing import RowError, Table
from vocabulary.buyers import buyer_keys
from vocabulary.buyers import digits as _digits
from vocabulary.statuses import METHOD_CARRIER

__all__ = ["buyer_keys"]  # re-exported: the engine and tests import it from here

# _システム: where _ルール適用's unread rows begin (the sync reads the tab from there on).
RULE_MARK = "末尾:_ルール適用"
# 受注.ルール keeps this many latest notes (each a short line): the full record is _ルール適用.
KEPT_NOTES = 5
GIFT_WORDS = ("ギフト", "のし", "熨斗", "ラッピング", "プレゼント", "贈")
OPEN = ("新規", "入金待ち", "発送待ち", "保留")


def _fold(text: str | None) -> str:
    """Width, case and spaces folded: 「山田　太郎」 and 「山田太郎」 compare equal."""
    return "".join(unicodedata.normalize("NFKC", text or "").lower().split())


# Asks the archive when each of these buyer keys first ordered; None: the archive could not be
# read (then whether the order is a first purchase cannot be told).
EarlierOrders = Callable[[frozenset[str]], Mapping[str, datetime] | None]


class BuyerHistory:
    """When each buyer key first ordered, for 初回購入: built from 受注 (the workbook's orders),
    told about each order a job creates, and, with ``earlier``, asking the archive about the
    keys of each order it judges (a buyer whose earlier orders were archived is no new buyer)."""

    def __init__(self, earlier: EarlierOrders | None = None) -> None:
        self.first: dict[str, datetime] = {}
        self.earlier = earlier
        self._asked: set[str] = set()

    def add(self, keys: Iterable[str], at: datetime) -> None:
        for key in keys:
            if key not in self.first or at < self.first[key]:
                self.first[key] = at

    def first_time(self, facts: OrderFacts) -> bool | None:
        if not facts.keys:
            return None
        unasked = facts.keys - self._asked
        if self.earlier is not None and unasked:
            found = self.earlier(frozenset(unasked))
            if found is None:
                return None  # the archive did not answer: cannot tell
            self._asked |= unasked
            for key, at in found.items():
                self.add((key,), at)
        return not any(self.first.get(k, facts.ordered_at) < facts.ordered_at for k in facts.keys)

    @classmethod
    def of_orders(cls, orders: Iterable[Order], earlier: EarlierOrders | None = None) -> BuyerHistory:
        found = cls(earlier)
        for order in orders:
            found.add(buyer_keys(order.phone, order.email), order.ordered_at)
        return found


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
    ordered_at: datetime
    keys: frozenset[str]  # who the buyer is, where the data tells (see buyer_keys)
    first_time: bool | None = None  # from the rule set's BuyerHistory; None: cannot tell

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
            ordered_at=order.ordered_at,
            keys=buyer_keys(order.phone, order.email),
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

    @cached_property
    def checks(self) -> tuple[Callable[[OrderFacts], bool], ...]:
        """One small test per filled condition, so a rule of one condition costs one test."""
        r = self.rule
        found: list[Callable[[OrderFacts], bool]] = []
        if self.malls:
            found.append(lambda f, m=self.malls: f.mall in m)
        if self.payments:
            found.append(lambda f, p=self.payments: f.payment in p)
        if r.min_total is not None:
            found.append(lambda f, low=r.min_total: f.total >= low)
        if r.max_total is not None:
            found.append(lambda f, high=r.max_total: f.total <= high)
        note = r.note.strip()
        if note == "あり":
            found.append(lambda f: bool(f.note.strip()))
        elif note == "なし":
            found.append(lambda f: not f.note.strip())
        elif self.note_words:
            found.append(lambda f, words=self.note_words: any(w in f.note for w in words))
        if self.skus:
            found.append(lambda f, skus=self.skus: not skus.isdisjoint(f.skus))
        if self.prefectures:
            found.append(lambda f, prefs=self.prefectures: f.address.startswith(prefs))
        if r.postcodes:
            found.append(lambda f, ranges=r.postcodes: any(lo <= f.postcode <= hi for lo, hi in ranges))
        if self.buyer_names or self.buyer_phones:
            found.append(
                lambda f, names=self.buyer_names, phones=self.buyer_phones: (
                    f.buyer in names or bool(f.phone and f.phone in phones)
                )
            )
        if r.gift is not None:
            found.append(lambda f, want=r.gift: f.gift == want)
        if r.first_time is not None:
            found.append(lambda f, want=r.first_time: f.first_time is want)
        return tuple(found)

    def matches(self, facts: OrderFacts) -> bool:
        for check in self.checks:  # noqa: SIM110 - a plain loop: all() and its generator cost ~30 % here
            if not check(facts):
                return False
        return True


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
    # For 初回購入 (``needs_history``): given, or built by ``history_source`` on the first order
    # evaluated (a cycle that creates no order never reads who bought what).
    history: BuyerHistory | None = None
    history_source: Callable[[], BuyerHistory] | None = None

    @classmethod
    def from_table(cls, table: Table[Any] | None, templates: Table[Any] | None = None) -> RuleSet:
        """The tab's rules in order of evaluation; ``templates`` (メールテンプレート), when
        given, the names 「メールを送る」 may use: a rule naming another is a problem too."""
        found = cls()
        if table is None or not table.exists:
            return found
        if not table.writable:
            found.problems.append(
                f"「{table.title}」シートの見出しを読めません（{'／'.join(table.header_problems)}）"
            )
            return found
        found.problems.extend(str(e) for e in table.errors)
        if templates is not None:
            found.problems.extend(_unknown_templates(table, templates))
        orders = [r for r in table if r.value.enabled]
        found.rules = [
            CompiledRule.of(r.value, r.row) for r in sorted(orders, key=lambda r: (r.value.order, r.row))
        ]
        return found

    @property
    def runs(self) -> bool:
        return bool(self.rules) and not self.problems

    @property
    def needs_history(self) -> bool:
        return any(c.rule.first_time is not None for c in self.rules)

    def evaluate(self, order: Order, lines: Sequence[OrderLine]) -> tuple[Order, list[Applied]]:
        """The order with every matching rule's actions laid over it, and what each changed.
        Only open orders are touched (a shipped or cancelled one is history). Conditions look
        at the order as it came in; actions build on each other (a tag added once)."""
        if not self.runs or order.status not in OPEN:
            return order, []
        facts = OrderFacts.of(order, lines)
        if self.history is None and self.history_source is not None and self.needs_history:
            self.history = self.history_source()
        if self.history is not None:
            facts = replace(facts, first_time=self.history.first_time(facts))
            self.history.add(facts.keys, facts.ordered_at)  # a second order in one batch is a repeat
        applied: list[Applied] = []
        working = _Working(order.status, order.note, order.tags, order.carrier, order.delivery_method)
        for compiled in self.rules:
            if not compiled.matches(facts):
                continue
            applied.append(Applied(compiled.rule.name, _act(working, compiled.rule)))
            if compiled.rule.stop:
                break
        update = working.update(order)
        return (order.model_copy(update=update) if update else order), applied


@dataclass
class _Working:
    """The columns rules write, as the rules so far left them."""

    status: str
    note: str
    tags: str
    carrier: str | None
    delivery_method: str | None

    def update(self, order: Order) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if getattr(order, name) != value}


def _unknown_templates(rules: Table[Any], templates: Table[Any]) -> list[str]:
    """A 「メールを送る」 that names no usable メールテンプレート row (a typo, a deleted template,
    a template row in error), as the row error it is: the rule set does not run half of what
    it says."""
    names = {t.name for t in templates.models()}
    found: list[str] = []
    for record in rules:
        wanted = record.value.send_mail
        if not wanted or wanted in names:
            continue
        row = templates.find_row((wanted,)) if templates.writable else None
        why = (
            f"「{templates.title}」シート {row}行目のこのテンプレートに誤りがあります（先にそちらを直してください）"
            if row is not None
            else f"「{templates.title}」シートにこの名前のテンプレートがありません"
        )
        found.append(str(RowError(rules.title, record.row, "メールを送る", wanted, why)))
    return found


def _act(order: _Working, rule: OrderRule) -> tuple[Change, ...]:
    changes: list[Change] = []
    if rule.set_status and rule.set_status != order.status:
        changes.append(Change("ステータス", order.status, rule.set_status))
        order.status = rule.set_status
        if rule.set_status == "保留":
            held = f"【保留】{rule.hold_reason}（ルール: {rule.name}）"
            note = f"{order.note}\n{held}" if order.note else held
            changes.append(Change("備考", order.note, note))
            order.note = note
    if rule.add_tags:
        have = [t for t in (order.tags or "").split("、") if t]
        new = [t for t in rule.add_tags if t not in have]
        if new:
            tags = "、".join([*have, *new])
            changes.append(Change("タグ", order.tags, tags))
            order.tags = tags
    if rule.set_carrier and rule.set_carrier != order.carrier:
        changes.append(Change("配送会社", order.carrier or "", rule.set_carrier))
        order.carrier = rule.set_carrier
    if rule.set_method:
        if rule.set_method != order.delivery_method:
            changes.append(Change("配送方法", order.delivery_method or "", rule.set_method))
            order.delivery_method = rule.set_method
        carrier = METHOD_CARRIER[rule.set_method]  # ネコポス goes with ヤマト運輸, whatever was set
        if carrier != order.carrier:
            changes.append(Change("配送会社", order.carrier or "", carrier))
            order.carrier = carrier
    if rule.send_mail:
        changes.append(Change("メール", "", rule.send_mail))
    return tuple(changes)


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
