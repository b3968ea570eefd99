"""What every mall's listing client (``<mall>_listings.py``) offers: read a listing's title,
price and description as the mall has them, and send the fields Ichigen manages.

These clients are separate from the stock ``Connector`` of each mall (same ``Settings``, same
HTTP layer, same retry and rate-limit rules) so that reading and writing listings never changes
how stock is pushed.

Fields (``FIELDS``), the same names for every mall; a mall maps each to its own attribute and
ignores the ones it does not have (``ListingRules.fields``):

- ``title``: 商品名 (Shopify ``product.title``, 楽天 ``title``, Amazon ``item_name``, Yahoo! ``name``)
- ``price``: 販売価格, whole yen, tax included (Shopify ``variant.price``, 楽天 ``variants.<id>.
  standardPrice``, Amazon ``purchasable_offer.our_price``, Yahoo! ``price``)
- ``tagline``: キャッチコピー (楽天 ``tagline``, Yahoo! ``headline``)
- ``description``: 商品説明 (Shopify ``body_html``, 楽天 ``productDescription.pc``, Amazon
  ``product_description``, Yahoo! ``caption``)
- ``tags``: タグ, comma-separated in the workbook and compared as a set (Shopify ``product.tags``,
  a comma-separated string; 楽天 ``tags``, a list of タグID numbers replaced whole; Amazon
  ``generic_keyword`` (検索キーワード), the tags joined by spaces)

A field a change does not name is never sent: the mall keeps whatever it has there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Field = Literal["title", "price", "tagline", "description", "tags"]
FIELDS: tuple[Field, ...] = ("title", "price", "tagline", "description", "tags")
FIELD_LABELS: Mapping[str, str] = {
    "title": "商品名",
    "price": "販売価格",
    "tagline": "キャッチコピー",
    "description": "商品説明",
    "tags": "タグ",
}
Value = str | int


@dataclass(frozen=True)
class ListingKey:
    """A listing as the workbook's モール商品 row names it: モール商品コード and the SKU the mall
    knows (モールSKU, or the SKU when blank)."""

    item_code: str
    sku: str


@dataclass(frozen=True)
class ListingRules:
    """What a mall accepts, checked before anything is sent (sync/listings.py)."""

    mall: str
    fields: tuple[Field, ...]
    # Longest value per field; "bytes" counts UTF-8 bytes (楽天), "chars" characters.
    max_length: Mapping[str, int]
    length_unit: Literal["chars", "bytes"] = "chars"
    min_price: int = 1
    max_price: int = 999_999_999
    # The mall's category/product type (モール商品's カテゴリ) is needed to create (楽天 genreId,
    # Yahoo! product_category) or for every change (Amazon productType).
    category_for: Literal["never", "create", "always"] = "never"
    category_label: str = "カテゴリ"
    # Fields that belong to the item (shared by its SKUs) rather than to one SKU.
    item_fields: tuple[Field, ...] = ("title", "tagline", "description", "tags")
    # Tags are タグID numbers (楽天) rather than words; at most ``max_tags`` of them.
    numeric_tags: bool = False
    max_tags: int = 250
    # All tags together, in UTF-8 bytes without separators (Amazon's 検索キーワード).
    max_tags_bytes: int | None = None
    # The mall separates keywords by spaces (Amazon): a tag with a space would come back as two.
    tags_without_spaces: bool = False
    creates: bool = False


@dataclass(frozen=True)
class MallListing:
    """A listing as the mall has it now (only the fields the mall has)."""

    key: ListingKey
    values: Mapping[str, Value]


@dataclass(frozen=True)
class ReadResult:
    found: dict[ListingKey, MallListing] = field(default_factory=dict)
    # Listings the mall does not have (a create, if the mall creates listings).
    missing: set[ListingKey] = field(default_factory=set)
    # Listings that could not be read, with the mall's reason.
    errors: dict[ListingKey, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListingChange:
    """What to send for one listing: only the managed fields that differ from the mall."""

    key: ListingKey
    values: Mapping[str, Value]
    create: bool = False
    category: str = ""


@dataclass(frozen=True)
class ListingOutcome:
    key: ListingKey
    field: str
    value: Value
    ok: bool
    error: str = ""  # the mall's own text, as it gave it
    # The mall took it and applies it later (Amazon ACCEPTED, Yahoo! until published).
    pending: bool = False


@dataclass(frozen=True)
class UploadFile:
    """A mall's bulk-upload file for the listings it cannot create through its API (Amazon's
    JSON_LISTINGS_FEED, Yahoo!'s 商品CSV): staff download it and upload it in the mall's own
    screen, as ``how`` says."""

    name: str
    data: bytes
    mime: str
    how: str  # Japanese: where and how staff upload it


class Listings(Protocol):
    mall: str
    display_name: str
    rules: ListingRules
    # Calls made so far (for the bench and the page's summary).
    calls: int

    def read(self, keys: Sequence[ListingKey]) -> ReadResult: ...

    def send(self, changes: Sequence[ListingChange]) -> list[ListingOutcome]:
        """One outcome per (change, field), in order. A mall that is down or throttles past
        the retries stops the run: the rest are reported failed with its reason, never left
        out. Credentials refused raise ``MallAuthError``."""
        ...


class UploadsNewListings(Protocol):
    """A listing client whose mall creates new listings only from a bulk file
    (``rules.creates`` False): Amazon, Yahoo!."""

    def upload_file(self, changes: Sequence[ListingChange]) -> UploadFile:
        """The file for these changes (all ``create``, every field the workbook has, with
        ``category``). No call to the mall."""
        ...


def tag_list(text: str) -> list[str]:
    """Tags as typed (comma, 、 or ， separated), blanks and repeats dropped, in order."""
    parts = (t.strip() for t in text.replace("、", ",").replace("，", ",").split(","))
    return list(dict.fromkeys(t for t in parts if t))


def tags_text(tags: Sequence[object]) -> str:
    return ", ".join(str(t) for t in tags)


def outcomes(
    change: ListingChange, *, ok: bool, error: str = "", pending: bool = False
) -> list[ListingOutcome]:
    """The same outcome for every field of a change."""
    return [ListingOutcome(change.key, f, v, ok, error, pending) for f, v in change.values.items()]
