"""Settings: one pure loader, and the committed example documents every setting."""

import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from settings import PROJECT_ROOT, Settings, SettingsInvalid, load_settings, load_settings_file

EXAMPLE = PROJECT_ROOT / ".streamlit" / "secrets.example.toml"


def _documented_keys(text: str) -> set[str]:
    # Keys may be shown commented out ("# private_key = ..."), since some are alternatives.
    keys = set()
    for line in text.splitlines():
        line = line.lstrip("# ").strip()
        if "=" in line and not line.startswith("["):
            keys.add(line.split("=", 1)[0].strip())
    return keys


def _fields(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for arg in getattr(info.annotation, "__args__", (info.annotation,)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _fields(arg)
    return names


def test_example_documents_every_setting() -> None:
    documented = _documented_keys(EXAMPLE.read_text(encoding="utf-8"))
    sections = {
        "workbook",
        "google",
        "app",
        "auth",
        "service_account",
        "sync",
        "limits",
        "malls",
        "access",
        "customers",
        "accounting",
    }
    sections |= {"carriers", "yamato", "rakuten"}  # [carriers.yamato], [mail.rakuten]
    missing = _fields(Settings) - documented - sections
    assert missing == set()


def test_example_parses_into_settings() -> None:
    settings = load_settings(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")))
    assert settings.backend == "google"
    assert settings.google is not None and settings.google.service_account_file == Path(
        "service-account.json"
    )


def test_no_file_means_embedded_sqlite_under_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("settings.DEFAULT_SECRETS_PATH", tmp_path / "absent.toml")
    settings = load_settings_file(None, environ={})
    assert settings.backend == "sql"
    assert settings.sql_url() == f"sqlite:///{PROJECT_ROOT / 'data' / 'ichigen.sqlite3'}"


def test_environment_overrides_the_file() -> None:
    settings = load_settings(
        {"app": {"cache_ttl_seconds": 60}},
        environ={"ICHIGEN_APP__CACHE_TTL_SECONDS": "5", "ICHIGEN_APP__SHOP_NAME": "一元堂", "PATH": "/bin"},
    )
    assert (settings.app.cache_ttl_seconds, settings.app.shop_name) == (5, "一元堂")


def test_typo_in_a_section_is_an_error_not_silently_ignored() -> None:
    with pytest.raises(SettingsInvalid):
        load_settings({"workbook": {"sqlurl": "sqlite:///x"}})


def test_private_key_never_shows_in_repr() -> None:
    settings = load_settings(
        {
            "google": {
                "spreadsheet_key": "k",
                "service_account": {
                    "private_key": "TOPSECRET",
                    "client_email": "a@b.iam.gserviceaccount.com",
                },
            }
        }
    )
    assert "TOPSECRET" not in repr(settings)
    assert settings.google is not None
    assert settings.google.service_account_info()["private_key"] == "TOPSECRET"


def test_google_needs_exactly_one_key_source() -> None:
    with pytest.raises(SettingsInvalid):
        load_settings({"google": {"spreadsheet_key": "k"}})


def test_example_documents_every_connector_setting_and_its_malls_validate() -> None:
    from sync.connectors import CONNECTOR_MODULES, channel_settings, connector_module

    text = EXAMPLE.read_text(encoding="utf-8")
    documented = _documented_keys(text)
    for kind in CONNECTOR_MODULES:
        missing = set(connector_module(kind).Settings.model_fields) - documented
        assert missing == set(), kind
    settings = load_settings(tomllib.loads(text))
    assert set(settings.malls) == {"shopify", "amazon_files"}
    for channel, section in settings.malls.items():
        assert channel_settings(channel, section).type == section["type"]


def test_machine_url_goes_with_google_sheets_and_postgresql_only() -> None:
    google = {"spreadsheet_key": "k", "service_account_file": "sa.json"}
    url = "postgresql+psycopg://ichigen@db.example.jp/ichigen"
    hybrid = load_settings({"google": google, "workbook": {"machine_url": url}})
    assert hybrid.backend == "google" and hybrid.machine_url() == url
    assert hybrid.archive_url() == url  # the history goes with the machine tabs unless set
    own = load_settings(
        {"google": google, "workbook": {"machine_url": url, "archive_url": "sqlite:////tmp/a.sqlite3"}}
    )
    assert own.archive_url() == "sqlite:////tmp/a.sqlite3"
    assert load_settings({"google": google}).machine_url() == ""
    with pytest.raises(SettingsInvalid, match="Google スプレッドシート"):
        load_settings({"workbook": {"machine_url": url}})  # nothing to pair it with
    with pytest.raises(SettingsInvalid, match="PostgreSQL"):
        load_settings({"google": google, "workbook": {"machine_url": "sqlite:///machine.sqlite3"}})
