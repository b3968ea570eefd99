"""Ichigen's settings: one pydantic model, loaded once by a pure function from a mapping.

The app passes ``st.secrets``; command-line tools pass the same ``.streamlit/secrets.toml``.
Environment variables ``ICHIGEN_<SECTION>__<KEY>`` (e.g. ``ICHIGEN_GOOGLE__SPREADSHEET_KEY``)
override the file, so secrets can stay out of files on a server. Nothing else reads either.
Every setting is documented in ``.streamlit/secrets.example.toml`` (a test checks this).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from vocabulary import limits
from vocabulary.buyers import is_rakuten_relay

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"
ENV_PREFIX = "ICHIGEN_"


class SettingsError(Exception):
    """A setting points at something unusable; the message is Japanese, for staff."""


class SettingsInvalid(SettingsError):
    """secrets.toml (or an ICHIGEN_ variable) does not fit the settings model. The message
    names each key and what is wrong with it, never the value: a typo in ``[mail] pasword``
    must not print the password."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "設定（.streamlit/secrets.toml または ICHIGEN_ 環境変数）に誤りがあります。\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\n書き方は .streamlit/secrets.example.toml を参照してください。"
        )


# pydantic's error types, in staff's words. Only the schema's own context (allowed choices,
# bounds) is used; the input value never is.
_PROBLEMS = {
    "extra_forbidden": "この項目はありません（綴りを確認してください）",
    "missing": "必須の項目がありません",
    "int_parsing": "整数で書いてください",
    "int_type": "整数で書いてください",
    "int_from_float": "整数で書いてください",
    "float_parsing": "数値で書いてください",
    "float_type": "数値で書いてください",
    "bool_parsing": "true か false で書いてください",
    "bool_type": "true か false で書いてください",
    "string_type": '文字列（"…"）で書いてください',
    "model_type": "表（[セクション]）で書いてください",
    "dict_type": "表（[セクション]）で書いてください",
    "model_attributes_type": "表（[セクション]）で書いてください",
    "path_type": "ファイルのパスを文字列で書いてください",
}
_BOUNDS = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le"}
_BOUND_WORDS = {"gt": "より大きく", "ge": "以上に", "lt": "より小さく", "le": "以下に"}


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "（全体）"
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        what = f"次のどれかにしてください: {ctx.get('expected', '')}"
    elif kind in _BOUNDS:
        bound = _BOUNDS[kind]
        what = f"{ctx.get(bound)} {_BOUND_WORDS[bound]}してください"
    elif kind == "value_error":
        what = str(ctx.get("error", "値が正しくありません"))  # our own validators' words
    else:
        what = _PROBLEMS.get(kind, f"値が正しくありません（{kind}）")
    return f"{where}: {what}"


def settings_problems(exc: ValidationError) -> list[str]:
    return [_problem(error) for error in exc.errors(include_input=False, include_url=False)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class ServiceAccount(BaseModel):
    """A Google service-account key, as in the JSON file Google Cloud gives you."""

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)

    type: Literal["service_account"] = "service_account"
    project_id: str = ""
    private_key_id: str = ""
    private_key: SecretStr
    client_email: str
    client_id: str = ""
    token_uri: str = "https://oauth2.googleapis.com/token"

    def as_info(self) -> dict[str, Any]:
        info = self.model_dump()
        info["private_key"] = self.private_key.get_secret_value()
        return info


class WorkbookSettings(Section):
    # "auto": Google Sheets when [google] is configured, else the embedded SQL workbook.
    backend: Literal["auto", "sql", "google"] = "auto"
    sql_url: str = "sqlite:///data/ichigen.sqlite3"
    seed_demo: bool = True
    # History moved out of the workbook goes to this database (any SQLAlchemy URL); a SQLite
    # file beside the embedded workbook by default.
    archive_url: str = "sqlite:///data/ichigen-archive.sqlite3"
    # With Google Sheets: a PostgreSQL database for the tabs only Ichigen writes (在庫移動,
    # 同期ログ, 受注明細, メール送信履歴, the hidden state) and, unless archive_url is set, for
    # the archive. Staff tabs stay in the spreadsheet (sheets_schema/adapters/hybrid.py).
    machine_url: str = ""
    # 同期ログ rows (and, later, closed orders) older than this many days are archived.
    archive_after_days: int = Field(30, ge=1)
    # A database server (PostgreSQL: sql_url / archive_url = "postgresql+psycopg://user@host/db",
    # the password from secrets or ICHIGEN_WORKBOOK__SQL_URL, ?sslmode=require etc. as libpq
    # takes them): a statement running longer than this is stopped; connecting gives up after
    # connect_timeout_seconds; each process keeps at most pool_size connections open.
    statement_timeout_seconds: float = Field(30.0, gt=0)
    connect_timeout_seconds: float = Field(10.0, gt=0)
    pool_size: int = Field(2, ge=1, le=20)


class GoogleSettings(Section):
    spreadsheet_key: str
    service_account: ServiceAccount | None = None
    service_account_file: Path | None = None
    api_base_url: str = "https://sheets.googleapis.com"
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=0, le=10)
    backoff_base_seconds: float = Field(1.0, ge=0)
    backoff_max_seconds: float = Field(32.0, ge=0)

    @model_validator(mode="after")
    def _one_key(self) -> GoogleSettings:
        if (self.service_account is None) == (self.service_account_file is None):
            raise ValueError("set exactly one of google.service_account or google.service_account_file")
        return self

    def service_account_info(self) -> dict[str, Any]:
        if self.service_account is not None:
            return self.service_account.as_info()
        assert self.service_account_file is not None
        path = self.service_account_file
        if not path.is_absolute():
            path = PROJECT_ROOT / path
        try:
            return ServiceAccount.model_validate(json.loads(path.read_text(encoding="utf-8"))).as_info()
        except (OSError, ValueError) as exc:
            raise SettingsError(
                f"サービスアカウント鍵のファイル {path} を読み込めません（{exc.__class__.__name__}）"
            ) from exc


class AppSettings(Section):
    shop_name: str = "Ichigen デモショップ"
    # Printed on 納品書 and carrier files as the sender (ご依頼主).
    shop_postcode: str = "150-0001"
    shop_address: str = "東京都渋谷区神宮前1-2-3 いちげんビル2F"
    shop_phone: str = "03-1234-5678"
    cache_ttl_seconds: int = Field(60, ge=0)
    # Each person's table settings (columns shown, rows, wrapping): screen settings, not shop
    # data, so a file beside the app rather than a tab (shop/table_choices.py).
    screen_settings_path: Path = Path("data/ichigen-screen.json")


class SyncSettings(Section):
    # How often `python -m sync watch` and the app's background sync run a cycle.
    interval_seconds: int = Field(60, ge=1)
    # Each fetch starts this far before the stored cursor, to catch late-indexed changes.
    overlap_minutes: int = Field(10, ge=0)
    # A runner holds the workbook for this long per cycle; a crashed runner's lease expires.
    lease_seconds: int = Field(120, ge=10)
    # On the embedded default, the app keeps the demo malls syncing while it runs.
    auto_sync_demo: bool = True
    # The 同期 page shows a red banner for a mall with no successful order import for this long.
    stale_after_minutes: int = Field(30, ge=1)
    # `python -m sync watch` sends the templates with 自動送信 ON this often (each pass reads
    # 受注, 受注明細 and メール送信履歴 whole, so not every cycle).
    auto_mail_minutes: int = Field(10, ge=1)
    # While a セール rule is active: seconds between cycles (a rule's 同期間隔秒 overrides) and
    # the chance per push window that the other malls outsell the velocity buffer (sync/sale.py).
    sale_interval_seconds: int = Field(20, ge=5)
    sale_buffer_risk: float = Field(0.03, gt=0, lt=1)
    # `python -m sync watch` reads every linked listing's live quantity at each mall this often
    # (在庫照合, sync/reconcile.py): a slow path, paced by the malls' own read limits.
    reconcile_minutes: int = Field(60, ge=5, le=7 * 24 * 60)


class RakutenMailSettings(Section):
    """楽天あんしんメルアド: 楽天 gives the shop each buyer's address as a relay
    (…@pc.fw.rakuten.ne.jp), which passes on only mail sent through 楽天's own あんしんメルアド
    SMTP server, with SMTP AUTH, from the RMS 店舗連絡先メールアドレス (R-Login →
    あんしんメルアドサービスメニュー → メールサーバ設定情報; RMS → 店舗設定 → 基本情報設定 →
    店舗詳細情報). Mail to a relay over the shop's usual server does not arrive, so without this
    section such mails are not sent (recorded 失敗 with what to set, sent once it is set). The
    server's name and port are those R-Login shows; UNVERIFIED: 587 with STARTTLS as default."""

    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""  # SMTP AUTH ID
    password: SecretStr = SecretStr("")  # SMTP AUTH パスワード
    from_address: str = ""  # 店舗連絡先メールアドレス as registered in RMS (not the masked one)


class MailSettings(Section):
    """Customer mails over SMTP. Without [mail] (or with host blank) mails go to outbox_dir."""

    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    # "starttls" (port 587), "ssl" (SMTPS, port 465) or "none" (a relay on the same machine).
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password: SecretStr = SecretStr("")
    from_address: str = "shop@example.jp"
    from_name: str = ""  # blank: the shop name
    encoding: Literal["utf-8", "iso-2022-jp"] = "utf-8"
    # A mail that failed is tried again on later runs, up to this many attempts in all.
    max_retries: int = Field(3, ge=1, le=20)
    timeout_seconds: float = Field(30.0, gt=0)
    outbox_dir: Path = Path("data/outbox")
    # Mails to 楽天's relay addresses go through 楽天あんしんメルアド's server ([mail.rakuten]).
    rakuten: RakutenMailSettings | None = None

    def outbox_path(self) -> Path:
        return self.outbox_dir if self.outbox_dir.is_absolute() else PROJECT_ROOT / self.outbox_dir

    def route_for(self, address: str) -> MailSettings | None:
        """The server settings a mail to ``address`` goes through: these, or for a 楽天 relay
        address the あんしんメルアド server's (None when [mail.rakuten] is not set)."""
        if not is_rakuten_relay(address):
            return self
        if self.rakuten is None or not self.rakuten.host or not self.rakuten.from_address:
            return None
        relay = self.rakuten
        return self.model_copy(
            update={
                "host": relay.host,
                "port": relay.port,
                "security": relay.security,
                "username": relay.username,
                "password": relay.password,
                "from_address": relay.from_address,
                "rakuten": None,
            }
        )


class YamatoSettings(Section):
    """B2クラウド's ご請求先 (the shop's Yamato billing codes), written on every label row. B2
    refuses rows without them unless the account's 取込パターン fixes them (labocho/yamato_b2_cloud
    record.rb validates both; skoji/stores-to-b2cloud asks staff for them)."""

    # ご請求先顧客コード: 10–12 digits (B2クラウド → ご請求先の設定).
    billing_customer_code: str = Field("", pattern=r"^(\d{10,12})?$")
    # ご請求先分類コード: 3 digits, or blank when the account has none.
    billing_class_code: str = Field("", pattern=r"^(\d{3})?$")
    # 運賃管理番号: 2 digits (usually "01").
    freight_number: str = Field("", pattern=r"^(\d{2})?$")
    # コレクト内消費税額等 on 代引 rows: the tax inside the total at this rate (8 for a shop that
    # sells only food at the reduced rate).
    cod_tax_rate_percent: int = Field(10, ge=0, le=100)


class CarriersSettings(Section):
    yamato: YamatoSettings = YamatoSettings()


class LimitsSettings(Section):
    """Largest quantity and yen amount any cell, mall order or file may hold (see
    vocabulary/limits.py); a bigger one is reported as an input error, never pushed."""

    max_quantity: int = Field(limits.DEFAULT_MAX_QUANTITY, ge=1)
    max_yen: int = Field(limits.DEFAULT_MAX_YEN, ge=1)

    def apply(self) -> None:
        limits.configure(self.max_quantity, self.max_yen)


class CustomerSettings(Section):
    """顧客分析: the salt of the buyer key (a salted hash that links one person's orders).
    Blank: Ichigen generates one per installation, once, and keeps it in _システム (see
    ui/analytics_customers.py, shop/customer_identity.py); set it here (or ICHIGEN_CUSTOMERS__SALT) to keep it off the
    workbook. Changing it makes every buyer key new (the archive's keys are rebuilt once)."""

    salt: SecretStr = SecretStr("")


class AccountingSettings(Section):
    """Account and tax names written into the monthly journal files (shop/journal.py). They
    must match the names registered in the accounting software exactly."""

    sales_account: str = "売上高"
    shipping_account: str = "売上高"  # 送料 received; many shops book it as 売上高
    receivable_account: str = "売掛金"
    fee_account: str = "支払手数料"
    # 支払方法 (as on the 受注 tab) -> the receivable account for it, e.g. {"代金引換" = "売掛金"}.
    payment_accounts: dict[str, str] = {}
    # SKUs taxed at the reduced 8 % rate (food, drinks): exact SKUs, or a prefix ending in "*".
    reduced_rate_skus: list[str] = []
    # Tax category names. UNVERIFIED against the software: no source we found lists them.
    freee_tax_10: str = "課税売上10%"
    freee_tax_8: str = "課税売上8%（軽）"
    freee_tax_none: str = "対象外"
    mf_tax_10: str = "課税売上 10%"
    mf_tax_8: str = "課税売上 (軽)8%"
    mf_tax_none: str = "対象外"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    workbook: WorkbookSettings = WorkbookSettings()
    google: GoogleSettings | None = None
    app: AppSettings = AppSettings()
    sync: SyncSettings = SyncSettings()
    limits: LimitsSettings = LimitsSettings()
    mail: MailSettings | None = None
    # The shop's accounts with the carriers, for their label files ([carriers.yamato]).
    carriers: CarriersSettings = CarriersSettings()
    customers: CustomerSettings = CustomerSettings()
    accounting: AccountingSettings = AccountingSettings()
    # One section per sales channel: [malls.<channel>] with type = "shopify" | "csv" | "demo" …;
    # each connector validates its own keys (sync/connectors/<type>.py, class Settings).
    malls: dict[str, dict[str, Any]] = {}
    # Streamlit's own login settings (st.login); Ichigen only checks whether they are present.
    auth: dict[str, Any] | None = None
    # Who may do what once [auth] is set: e-mail -> 閲覧 (view), 編集 (edit) or 管理 (settings, sync).
    access: dict[str, Literal["閲覧", "編集", "管理"]] = {}

    @model_validator(mode="after")
    def _machine_url_with_sheets(self) -> Settings:
        url = self.workbook.machine_url.strip()
        if url and self.backend != "google":
            raise ValueError(
                "[workbook] machine_url は Google スプレッドシート（[google]）と組み合わせる設定です。"
                "ワークブック全体をデータベースに置くときは sql_url を使ってください"
            )
        if url and not url.startswith("postgresql"):
            raise ValueError(
                "[workbook] machine_url には PostgreSQL の URL（postgresql+psycopg://…）を指定してください"
            )
        return self

    @property
    def backend(self) -> Literal["sql", "google"]:
        if self.workbook.backend == "auto":
            return "google" if self.google is not None else "sql"
        return self.workbook.backend

    def sql_url(self) -> str:
        """The SQL URL with a relative SQLite path taken from the project folder."""
        return _from_project(self.workbook.sql_url)

    def archive_url(self) -> str:
        if self.machine_url() and "archive_url" not in self.workbook.model_fields_set:
            return self.machine_url()  # the hybrid's database holds the history too
        return _from_project(self.workbook.archive_url)

    def machine_url(self) -> str:
        """The hybrid workbook's database ('' when every tab is in the one workbook)."""
        return self.workbook.machine_url.strip() if self.backend == "google" else ""

    def sql_options(self) -> Any:
        """Connection settings for a database server (sheets_schema.adapters.sql.SqlOptions)."""
        from sheets_schema.adapters.sql import SqlOptions

        return SqlOptions(
            statement_timeout_seconds=self.workbook.statement_timeout_seconds,
            connect_timeout_seconds=self.workbook.connect_timeout_seconds,
            pool_size=self.workbook.pool_size,
        )


def _from_project(url: str) -> str:
    """A relative SQLite path is taken from the project folder, whatever the current folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(PROJECT_ROOT / url[len(prefix) :])
    return url


def _environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        target = overrides
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return overrides


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _plain(value: Any) -> Any:
    # st.secrets hands out its own mapping types; pydantic wants plain dicts.
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def load_settings(mapping: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Raises SettingsInvalid (never pydantic's ValidationError, whose text and traceback
    would show the values given, passwords included)."""
    data = _plain(mapping)
    if environ:
        data = _merge(data, _environment_overrides(environ))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = settings_problems(exc)
    raise SettingsInvalid(problems)  # outside the except: no chained traceback with values


def load_settings_file(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from a secrets.toml. Without ``path``, a missing default file means the
    embedded default; a path given on purpose (``--secrets``) must exist."""
    if path is None:
        path = DEFAULT_SECRETS_PATH
        if not path.exists():
            return load_settings({}, environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"設定ファイル {path} が見つかりません。パスを確かめてください。") from None
    except IsADirectoryError:
        raise SettingsError(
            f"{path} はフォルダです。設定ファイル（secrets.toml）のパスを指定してください。"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"設定ファイル {path} を読み込めません（{exc.__class__.__name__}）。"
            "ファイルの権限と文字コード（UTF-8）を確かめてください。"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Only the position is taken from the decoder's message ("… (at line 3, column 5)").
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        where = f"{found.group(1)} 行目 {found.group(2)} 文字目" if found else "位置不明"
        raise SettingsError(f"設定ファイル {path} の書き方（TOML）に誤りがあります（{where}）。") from None
    return load_settings(data, environ)
