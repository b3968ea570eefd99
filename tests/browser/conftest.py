"""Real-browser fixtures: the app served by `streamlit run` on loopback, driven by Playwright in
Debian's chromium (/usr/bin/chromium; Playwright's own browser download cannot work here)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
# Flags that keep chromium from reaching for the (closed) network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))  # free on every interface, for servers not bound to loopback
        return s.getsockname()[1]


def interface_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (a UDP "connect" sends nothing;
    it only asks the kernel which local address it would route from)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@dataclass
class AppServer:
    url: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def sql_url(self) -> str:
        return f"sqlite:///{self.folder / 'wb.sqlite3'}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., AppServer]]:
    """Start the app with its own secrets file; the demo's background sync is off unless asked."""
    started: list[AppServer] = []

    def start(
        extra_secrets: str = "",
        *,
        port: int | None = None,
        auto_sync: bool = False,
        address: str = "127.0.0.1",
        config: str = "",
    ) -> AppServer:
        """``address`` is what the server listens on; ``config`` extra Streamlit options
        (e.g. ``--client.showErrorDetails=full``)."""
        port = port or free_port()
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(
            f'[workbook]\nsql_url = "sqlite:///{tmp_path / "wb.sqlite3"}"\n'
            # Each person's table choices in this test's folder, not the project's data/.
            f'[app]\nscreen_settings_path = "{tmp_path / "screen.json"}"\n'
            f"[sync]\nauto_sync_demo = {'true' if auto_sync else 'false'}\n{extra_secrets}",
            encoding="utf-8",
        )
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless=true", f"--server.port={port}", f"--server.address={address}",
            f"--secrets.files={secrets}", *config.split(),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        host = "127.0.0.1" if address in ("0.0.0.0", "") else address
        server = AppServer(f"http://{host}:{port}", port, tmp_path, process)
        started.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{server.url}/_stcore/health", timeout=1).text == "ok":
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the app did not start")

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()


def wait_for_app(page: Page) -> None:
    """Streamlit has finished a run when its status widget stops showing 'Running'."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000
    )
