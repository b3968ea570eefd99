"""One pydantic row model per tab. Field aliases are the Japanese column headers staff see."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from sheets_schema.cells import (
    Identifier,
    JstDateTime,
    NameList,
    OnOff,
    OptionalIdentifier,
    OptionalJstDate,
    OptionalJstDateTime,
    OptionalOnOff,
    OptionalQuantity,
    OptionalYen,
    PostcodeRanges,
    Quantity,
    Text,
    TimeWindow,
    Yen,
    blank_to_none,
)
from vocabulary.statuses import (  # noqa: F401  (the workbook's contract re-exports them)
    METHOD_CARRIER,
    MOVEMENT_KINDS,
    OPEN_ORDER_STATUSES,
    ORDER_STATUSES,
    Carrier,
    DeliveryMethod,
    MovementKind,
    OrderStatus,
    PurchaseStatus,
    SyncResult,
)


class Row(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True, frozen=True)


class Product(Row):
    sku: Identifier = Field(alias="SKU")
    name: Text = Field(alias="商品名", min_length=1)
    price: Yen = Field(alias="販売価格", ge=0)
    cost: OptionalYen = Field(None, alias="原価", ge=0)
    jan: OptionalIdentifier = Field(None, alias="JANコード", pattern=r"^\d{8}$|^\d{13}$")
    supplier: Text = Field("", alias="仕入先")
    reorder_point: OptionalQuantity = Field(None, alias="発注点", ge=0)
    reorder_lot: OptionalQuantity = Field(None, alias="発注ロット", ge=1)
    lead_time_days: OptionalQuantity = Field(None, alias="リードタイム日数", ge=0)
    memo: Text = Field("", alias="メモ")
    # Where the goods are kept (a shelf or bin code): count sheets are sorted by it.
    location: Text = Field("", alias="棚番")


class Stock(Row):
    sku: Identifier = Field(alias="SKU")
    # Below zero when more was shipped than counted: the ledger's figure, shown as it is (a
    # count is due); 販売可能数 is 0 then. Forms reject a negative count typed by people.
    on_hand: Quantity = Field(alias="実在庫")
    allocated: Quantity = Field(0, alias="引当数", ge=0)
    safety_stock: Quantity = Field(0, alias="安全在庫", ge=0)
    available: Quantity = Field(0, alias="販売可能数", ge=0)
    updated_at: OptionalJstDateTime = Field(None, alias="更新日時")
    # Units that cannot be sold (returned damaged, found defective): kept apart from 実在庫.
    defective: Quantity = Field(0, alias="不良在庫", ge=0)


class MallListing(Row):
    mall: Identifier = Field(alias="モール")
    sku: Identifier = Field(alias="SKU")
    mall_item_code: Identifier = Field(alias="モール商品コード")
    mall_sku: OptionalIdentifier = Field(None, alias="モールSKU")
    stock_sync: OnOff = Field(True, alias="在庫連携")
    # What 商品登録 sends to the mall (sync/listings.py). Blank: 商品名 / 販売価格 of 商品 for the
    # title and price; キャッチコピー and 商品説明 blank are not managed (the mall keeps its own).
    title: Text = Field("", alias="モール商品名")
    price: OptionalYen = Field(None, alias="販売価格（モール）", ge=0)
    tagline: Text = Field("", alias="キャッチコピー")
    description: Text = Field("", alias="商品説明")
    # The mall's category: 楽天 ジャンルID, Amazon 商品タイプ (productType), Yahoo! プロダクトカテゴリ.
    category: Text = Field("", alias="カテゴリ")
    # Search tags, comma-separated (Shopify: words; 楽天: タグID numbers); blank: not managed;
    # after カテゴリ, where workbooks made before it get the column.
    tags: Text = Field("", alias="タグ")


class SetComponent(Row):
    """One component of a set product (セット商品): the set is a SKU of 商品 that holds no stock
    of its own; its 販売可能数 is what its components can build (sync/sets.py)."""

    set_sku: Identifier = Field(alias="セットSKU")
    component_sku: Identifier = Field(alias="構成SKU")
    # Units of the component in one set (3 for a 3足セット of one sock).
    quantity: Quantity = Field(alias="数量", ge=1)
    memo: Text = Field("", alias="メモ")


class Sale(Row):
    """A セール rule: during [開始日時, 終了日時) the malls are sent the policy's quantity for the
    SKU (blank or すべて: every SKU) instead of the plain 販売可能数 (sync/sale.py)."""

    sku: Text = Field("", alias="SKU")
    mall: Text = Field("", alias="モール")
    start: JstDateTime = Field(alias="開始日時")
    end: JstDateTime = Field(alias="終了日時")
    quota: OnOff = Field(True, alias="配分")
    threshold: OptionalQuantity = Field(None, alias="しきい値", ge=1)
    buffer: OnOff = Field(True, alias="売れ行きバッファ")
    interval_seconds: OptionalQuantity = Field(None, alias="同期間隔秒", ge=5)
    enabled: OnOff = Field(True, alias="有効")
    memo: Text = Field("", alias="メモ")


class SaleTally(Row):
    """Units a mall sold of a SKU since the start of the セール rule covering it, kept by the
    sync in the same job as the orders: the policy's shares and sales speed."""

    sku: Identifier = Field(alias="SKU")
    mall: Identifier = Field(alias="モール")
    start: JstDateTime = Field(alias="開始日時")
    sold: Quantity = Field(0, alias="販売数")
    updated_at: OptionalJstDateTime = Field(None, alias="更新日時")


class Order(Row):
    mall: Identifier = Field(alias="モール")
    order_number: Identifier = Field(alias="注文番号")
    ordered_at: JstDateTime = Field(alias="注文日時")
    status: OrderStatus = Field(alias="ステータス")
    payment_method: Text = Field("", alias="支払方法")
    buyer_name: Text = Field("", alias="購入者名")
    recipient_name: Text = Field("", alias="送付先氏名")
    postcode: OptionalIdentifier = Field(None, alias="郵便番号")
    address: Text = Field("", alias="住所")
    phone: OptionalIdentifier = Field(None, alias="電話番号")
    # The buyer's mail address (often the mall's relay address), for 発送連絡 and other mails.
    email: Text = Field("", alias="メールアドレス")
    total: Yen = Field(alias="合計金額", ge=0)
    shipping_fee: Yen = Field(0, alias="送料", ge=0)
    note: Text = Field("", alias="備考")
    # Filled in by staff (or the shipping page) when the parcel leaves; sync tells the mall.
    carrier: Annotated[Carrier | None, BeforeValidator(blank_to_none)] = Field(None, alias="配送会社")
    # 宅急便, ネコポス, ゆうパック …: what the carrier file says (B2's 送り状種類); blank: the
    # carrier's standard parcel. Checked against 配送会社 and 代金引換 when the file is made.
    delivery_method: Annotated[DeliveryMethod | None, BeforeValidator(blank_to_none)] = Field(
        None, alias="配送方法"
    )
    tracking_number: Text = Field("", alias="追跡番号")
    # Ichigen's record of telling the mall: "", "送信中 …", "済 …" or "失敗: <the mall's reason>".
    shipment_notice: Text = Field("", alias="出荷連絡")
    # Why a person should look at this order (unknown SKU, missing address, …); blank when fine.
    review: Text = Field("", alias="要確認")
    # The mall's own status as last imported: staff changes to ステータス are told apart from it.
    mall_status: Text = Field("", alias="モールステータス")
    # OFF when the mall ships from its own warehouse (Amazon FBA): recorded, no stock allocated.
    allocates_stock: OnOff = Field(True, alias="在庫引当")
    updated_at: OptionalJstDateTime = Field(None, alias="更新日時")
    # Labels from 受注ルール (or typed by staff), 「、」-separated: 高額代引、離島.
    tags: Text = Field("", alias="タグ")
    # What 受注ルール did to this order, newest last: 「12/07 10:00 備考あり（ステータス→保留）」.
    rules_applied: Text = Field("", alias="ルール")
    # 同梱: orders packed in one box share a group id (「同梱-20261207-K3F9」, set on 出荷 by
    # shipping/bundles.py, blank = shipped alone). A staff column: a mall update never clears it.
    bundle: Text = Field("", alias="同梱")


class OrderLine(Row):
    mall: Identifier = Field(alias="モール")
    order_number: Identifier = Field(alias="注文番号")
    line_number: Quantity = Field(alias="明細番号", ge=1)
    sku: OptionalIdentifier = Field(None, alias="SKU")
    name: Text = Field("", alias="商品名")
    quantity: Quantity = Field(alias="数量", ge=0)
    unit_price: Yen = Field(alias="単価", ge=0)
    # The mall's own codes for the item, kept so an unknown SKU can be mapped later.
    mall_item_code: Text = Field("", alias="モール商品コード")
    mall_sku: Text = Field("", alias="モールSKU")


class StockMovement(Row):
    movement_id: Identifier = Field(alias="移動ID")
    at: JstDateTime = Field(alias="日時")
    sku: Identifier = Field(alias="SKU")
    kind: MovementKind = Field(alias="区分")
    # Units, always positive except 手動調整, 棚卸 and 繰越, whose sign says the direction.
    quantity: Quantity = Field(alias="数量")
    mall: Text = Field("", alias="モール")
    order_number: OptionalIdentifier = Field(None, alias="注文番号")
    line_number: OptionalQuantity = Field(None, alias="明細番号")
    note: Text = Field("", alias="備考")


class SyncLog(Row):
    run_id: Identifier = Field(alias="実行ID")
    started_at: JstDateTime = Field(alias="開始日時")
    finished_at: OptionalJstDateTime = Field(None, alias="終了日時")
    mall: Identifier = Field(alias="モール")
    job: Identifier = Field(alias="処理")
    fetched: Quantity = Field(0, alias="取得件数", ge=0)
    created: Quantity = Field(0, alias="新規", ge=0)
    updated: Quantity = Field(0, alias="更新", ge=0)
    duplicates_skipped: Quantity = Field(0, alias="重複スキップ", ge=0)
    failed: Quantity = Field(0, alias="失敗", ge=0)
    result: SyncResult = Field(alias="結果")
    error: Text = Field("", alias="エラー内容")


class SystemState(Row):
    key: Identifier = Field(alias="キー")
    value: Text = Field("", alias="値")
    updated_at: OptionalJstDateTime = Field(None, alias="更新日時")


PushState = Literal["確認済", "未確認", "失敗"]


class StockDrift(Row):
    """One listing whose live quantity at its mall differs from Ichigen's (or could not be read)
    at the last reconciliation (sync/reconcile.py), with its likely cause; rows of listings that
    agree again are removed by the next reconciliation of that mall."""

    mall: Identifier = Field(alias="モール")
    sku: Text = Field("", alias="SKU")
    mall_item_code: Identifier = Field(alias="モール商品コード")
    mall_sku: Text = Field("", alias="モールSKU")
    live: OptionalQuantity = Field(None, alias="モールの数")
    available: OptionalQuantity = Field(None, alias="販売可能数")
    last_sent: OptionalQuantity = Field(None, alias="前回送信数")
    difference: Quantity = Field(0, alias="差")  # モールの数 − 販売可能数
    cause: Text = Field(alias="原因")
    fix: Text = Field("", alias="対応")  # the fix offered
    done: Text = Field("", alias="処理")  # what a person did about it, when and who
    error: Text = Field("", alias="エラー")
    checked_at: JstDateTime = Field(alias="日時")


class StockRecord(Row):
    """What Ichigen last wrote to 在庫, so that a person's change can be told apart."""

    sku: Identifier = Field(alias="SKU")
    on_hand: Quantity = Field(alias="実在庫")
    safety_stock: Quantity = Field(0, alias="安全在庫")
    updated_at: OptionalJstDateTime = Field(None, alias="更新日時")


class LedgerBalance(Row):
    """The ledger's running totals for a SKU, kept in the same job as the movements that change
    them, so a cycle never sums 在庫移動 from its first row."""

    sku: Identifier = Field(alias="SKU")
    on_hand: Quantity = Field(0, alias="実在庫")
    allocated: Quantity = Field(0, alias="引当数")
    updated_at: OptionalJstDateTime = Field(None, alias="更新日時")
    defective: Quantity = Field(0, alias="不良在庫")


class OrderSettlement(Row):
    """What the ledger holds for one order's lines, and the status and 在庫引当 it was settled
    for: an order whose 受注 row still says the same needs no look this cycle."""

    mall: Identifier = Field(alias="モール")
    order_number: Identifier = Field(alias="注文番号")
    # "<ステータス>|<在庫引当>" exactly as the 受注 row read when it was settled.
    settled_for: Text = Field("", alias="反映状態")
    # JSON: {明細番号: {"a": {SKU: 引当数}, "s": {SKU: 出荷数}, "k": {区分: 回数}}}
    lines: Text = Field("", alias="明細在庫")
    updated_at: OptionalJstDateTime = Field(None, alias="更新日時")


class StockPush(Row):
    """The last quantity sent to a mall for a SKU, and whether the mall took it."""

    mall: Identifier = Field(alias="モール")
    sku: Identifier = Field(alias="SKU")
    mall_item_code: Identifier = Field(alias="モール商品コード")
    mall_sku: Text = Field("", alias="モールSKU")
    quantity: Quantity = Field(alias="送信数量", ge=0)
    state: PushState = Field(alias="状態")
    pushed_at: OptionalJstDateTime = Field(None, alias="送信日時")
    error: Text = Field("", alias="エラー")


class ListingSend(Row):
    """One field 商品登録 sent to a mall's listing, and what the mall said. Append-only."""

    id: Identifier = Field(alias="送信ID")
    at: JstDateTime = Field(alias="日時")
    mall: Identifier = Field(alias="モール")
    mall_item_code: Identifier = Field(alias="モール商品コード")
    mall_sku: Text = Field("", alias="モールSKU")
    sku: Text = Field("", alias="SKU")
    field_name: Text = Field(alias="項目")
    value: Text = Field("", alias="送った値")
    # 成功, 失敗, or 反映待ち (the mall took it and applies it later: Amazon, Yahoo! until published)
    result: Literal["成功", "失敗", "反映待ち"] = Field(alias="結果")
    error: Text = Field("", alias="モールのエラー")
    by: Text = Field("", alias="送信者")


# When a template is sent (its 送信タイミング): 取込 = the order was imported, 入金確認 = paid
# (発送待ち), 発送 = shipped with a tracking number, 発送後 = 送信タイミング日数 days after shipping.
MailTiming = Literal["取込", "入金確認", "発送", "発送後"]
MAIL_TIMINGS: tuple[str, ...] = MailTiming.__args__
# The four templates every workbook starts with, and the timing each has when its 送信タイミング
# is blank (a workbook made before the column existed). Staff may add templates of their own
# (a second follow-up, a review request); those say their timing.
STANDARD_TIMINGS: dict[str, str] = {
    "サンクスメール": "取込",
    "入金確認": "入金確認",
    "発送連絡": "発送",
    "フォローメール": "発送後",
}
# メール送信履歴 also records 発注書 sent to suppliers (purchasing/po_mail.py): テンプレート名
# 「発注書」, モール「発注」, 注文番号 = 発注番号. Not a メールテンプレート name: its text is fixed
# in code, and the 出荷 page lists only the customer templates.
PURCHASE_ORDER_MAIL = "発注書"
# 送信中 is written before the mail server is called: a row left 送信中 may or may not have gone.
# 要確認: a run ended (or a later run found it stopped) without knowing whether the server took the
# mail; never sent again automatically, staff check and delete the row to send again.
MailState = Literal["送信中", "送信済", "失敗", "outbox", "要確認"]


class MailTemplate(Row):
    """One customer mail, written by staff with {{ 注文番号 }}-style placeholders."""

    name: Identifier = Field(alias="テンプレート名")
    subject: Text = Field("", alias="件名")
    body: Text = Field("", alias="本文")
    # 発送後: days after shipment; blank for the others (sent when the order gets there).
    days_after: OptionalQuantity = Field(None, alias="送信タイミング日数", ge=0)
    # Blank: the standard template's own (STANDARD_TIMINGS); a template of staff's own says it.
    timing: Annotated[MailTiming | None, BeforeValidator(blank_to_none)] = Field(
        None, alias="送信タイミング", validate_default=True
    )
    enabled: OnOff = Field(True, alias="有効")
    # Sent by the sync runner by itself (shipping/auto_mail.py) for orders that reach the
    # template's point after it was switched ON, inside 送信時間帯 (JST), never to 除外モール.
    auto: OnOff = Field(False, alias="自動送信")
    window: TimeWindow = Field("09:00-20:00", alias="送信時間帯")
    excluded_malls: NameList = Field((), alias="除外モール")
    # Orders carrying any of these タグ (受注's タグ column, set by 受注ルール or staff) get no
    # automatic mail of this template, e.g. 「クレーム対応中」.
    excluded_tags: NameList = Field((), alias="除外タグ")

    @field_validator("name")
    @classmethod
    def _not_purchase_orders(cls, value: str) -> str:
        if value == PURCHASE_ORDER_MAIL:  # its records in メール送信履歴 are the suppliers'
            raise PydanticCustomError(
                "ichigen", "「発注書」は仕入先への発注書のメールの名前です。別の名前にしてください"
            )
        return value

    @field_validator("timing")
    @classmethod
    def _timing(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("name") not in STANDARD_TIMINGS:
            raise PydanticCustomError(
                "ichigen", "送信タイミング（取込・入金確認・発送・発送後）を入力してください"
            )
        return value

    @property
    def when(self) -> str:
        """The template's timing (MAIL_TIMINGS), its own or the standard one."""
        return self.timing or STANDARD_TIMINGS[self.name]


class MailLog(Row):
    """One mail per (template, order): the record that makes sending exactly-once."""

    template: Identifier = Field(alias="テンプレート名")  # a メールテンプレート's, or 発注書
    mall: Identifier = Field(alias="モール")
    order_number: Identifier = Field(alias="注文番号")
    to: Text = Field("", alias="宛先")
    subject: Text = Field("", alias="件名")
    state: MailState = Field(alias="状態")
    at: OptionalJstDateTime = Field(None, alias="日時")
    error: Text = Field("", alias="エラー")
    attempts: Quantity = Field(0, alias="試行回数", ge=0)


class Supplier(Row):
    """A supplier (仕入先) that 商品 name in their 仕入先 column and 発注 are sent to."""

    name: Identifier = Field(alias="仕入先")
    contact: Text = Field("", alias="担当者")
    email: Text = Field("", alias="メールアドレス")
    phone: OptionalIdentifier = Field(None, alias="電話番号")
    # Used for a SKU whose 商品 row has no リードタイム日数 of its own.
    lead_time_days: OptionalQuantity = Field(None, alias="リードタイム日数", ge=0)
    memo: Text = Field("", alias="メモ")


class PurchaseOrder(Row):
    """One 発注 to one supplier; its lines are in 発注明細."""

    number: Identifier = Field(alias="発注番号")
    supplier: Identifier = Field(alias="仕入先")
    ordered_on: OptionalJstDate = Field(None, alias="発注日")
    expected_on: OptionalJstDate = Field(None, alias="入荷予定日")
    status: PurchaseStatus = Field("下書き", alias="ステータス")
    note: Text = Field("", alias="備考")
    sent_at: OptionalJstDateTime = Field(None, alias="送信日時")
    updated_at: OptionalJstDateTime = Field(None, alias="更新日時")


class PurchaseOrderLine(Row):
    number: Identifier = Field(alias="発注番号")
    line_number: Quantity = Field(alias="明細番号", ge=1)
    sku: Identifier = Field(alias="SKU")
    quantity: Quantity = Field(alias="数量", ge=1)
    unit_cost: OptionalYen = Field(None, alias="単価", ge=0)
    # Written by receiving, in the same job as its 入庫 movements.
    received: Quantity = Field(0, alias="入荷数", ge=0)
    note: Text = Field("", alias="備考")

    @property
    def outstanding(self) -> int:
        """発注残: ordered and not yet received (an over-receipt leaves none)."""
        return max(0, self.quantity - self.received)


RuleStatus = Literal["新規", "入金待ち", "発送待ち", "保留"]


class OrderRule(Row):
    """One 受注ルール: conditions (blank = any) and actions, evaluated in 順番 on import and on
    demand (sync/rules.py). Cross-column mistakes are errors on the column to fix."""

    order: Quantity = Field(alias="順番", ge=1)
    name: Identifier = Field(alias="ルール名")
    enabled: OnOff = Field(True, alias="有効")
    # Conditions: every filled one must hold.
    malls: NameList = Field((), alias="モール")
    payments: NameList = Field((), alias="支払方法")
    min_total: OptionalYen = Field(None, alias="金額（以上）", ge=0)
    max_total: OptionalYen = Field(None, alias="金額（以下）", ge=0)
    # 「あり」 (any note), 「なし」 (none) or words, one of which the note contains.
    note: Text = Field("", alias="備考")
    skus: NameList = Field((), alias="SKU")
    prefectures: NameList = Field((), alias="都道府県")
    postcodes: PostcodeRanges = Field((), alias="郵便番号")
    # Names or phone numbers of buyers to watch (a repeat problem customer).
    buyers: NameList = Field((), alias="購入者")
    gift: OptionalOnOff = Field(None, alias="ギフト")
    # ON: the buyer's first order (no earlier order with the same phone or own mail address in
    # 受注); OFF: a repeat buyer. An order with neither is unknown and matches neither.
    first_time: OptionalOnOff = Field(None, alias="初回購入")
    # Actions.
    set_status: Annotated[RuleStatus | None, BeforeValidator(blank_to_none)] = Field(
        None, alias="ステータスにする"
    )
    hold_reason: Text = Field("", alias="保留理由", validate_default=True)
    add_tags: NameList = Field((), alias="タグを付ける")
    set_carrier: Annotated[Carrier | None, BeforeValidator(blank_to_none)] = Field(
        None, alias="配送会社にする"
    )
    # ネコポス, 宅急便コンパクト …; the order's 配送会社 follows (the method's carrier).
    set_method: Annotated[DeliveryMethod | None, BeforeValidator(blank_to_none)] = Field(
        None, alias="配送方法にする"
    )
    # A メールテンプレート's テンプレート名 (a rule naming none that exists does not run: RuleSet).
    send_mail: OptionalIdentifier = Field(None, alias="メールを送る")
    stop: OnOff = Field(False, alias="ここで終了", validate_default=True)

    @field_validator("max_total")
    @classmethod
    def _range(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_total")
        if value is not None and low is not None and value < low:
            raise PydanticCustomError("ichigen", "「金額（以上）」より大きい金額を入力してください")
        return value

    @field_validator("hold_reason")
    @classmethod
    def _reason(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("set_status") == "保留" and not value.strip():
            raise PydanticCustomError(
                "ichigen", "ステータスを「保留」にするルールには、保留理由を入力してください"
            )
        return value

    @field_validator("set_method")
    @classmethod
    def _method_of_carrier(cls, value: str | None, info: ValidationInfo) -> str | None:
        carrier = info.data.get("set_carrier")
        if value and carrier and METHOD_CARRIER[value] != carrier:
            raise PydanticCustomError(
                "ichigen",
                f"「{value}」は{METHOD_CARRIER[value]}の配送方法です（配送会社にする: {carrier}）",
            )
        return value

    @field_validator("stop")
    @classmethod
    def _does_something(cls, value: bool, info: ValidationInfo) -> bool:
        acts = ("set_status", "add_tags", "set_carrier", "set_method", "send_mail")
        if not value and not any(info.data.get(a) for a in acts):
            raise PydanticCustomError(
                "ichigen",
                "ステータス・タグ・配送会社・配送方法・メールのどれか（またはここで終了）を入力してください",
            )
        return value


class RuleAction(Row):
    """One change a 受注ルール made to an order, with the value before: what 受注ボード's
    「ルールの変更を元に戻す」 restores. Append-only; an undo is a row of its own."""

    id: Identifier = Field(alias="適用ID")
    at: JstDateTime = Field(alias="日時")
    mall: Identifier = Field(alias="モール")
    order_number: Identifier = Field(alias="注文番号")
    rule: Text = Field("", alias="ルール名")
    column: Text = Field(alias="列")
    before: Text = Field("", alias="変更前")
    after: Text = Field("", alias="変更後")
    # 「適用」 or 「取消」 (the undo of the 適用 rows before it for this order).
    kind: Literal["適用", "取消"] = Field("適用", alias="区分")
