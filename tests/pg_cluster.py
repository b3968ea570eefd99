"""A throwaway PostgreSQL cluster for the tests, and a fresh database per test.

``ICHIGEN_TEST_PG_URL`` (a ``postgresql+psycopg://`` URL of a server the tests may create and
drop databases on) is used when set; otherwise the session starts its own cluster in a temp
directory on a loopback port, if the server binaries are installed (Debian's ``postgresql``).
PostgreSQL refuses to run as root: as root the cluster runs as the ``postgres`` user.

``python -m tests.pg_cluster`` starts one and prints its URL (for trying things by hand).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

URL_ENV = "ICHIGEN_TEST_PG_URL"
REQUIRE_ENV = "ICHIGEN_REQUIRE_PG"


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: the newest /usr/lib/postgresql/<n>/bin, else on PATH."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for candidate in reversed(versions):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl start on a temp directory; ``stop`` removes it all."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError("root で実行中ですが postgres ユーザーがありません") from exc
        self.directory = Path(tempfile.mkdtemp(prefix="ichigen-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        if self.as_root:
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start"
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def server_url() -> Iterator[str | None]:
    """The server to test against: ICHIGEN_TEST_PG_URL, or a cluster of our own, or None."""
    if os.environ.get(URL_ENV):
        yield os.environ[URL_ENV]
        return
    bindir = find_bindir()
    if bindir is None:
        yield None
        return
    cluster = Cluster(bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def _admin(server: str):  # type: ignore[no-untyped-def]
    import psycopg

    url = make_url(server)
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
        connect_timeout=10,
        **{k: v for k, v in url.query.items() if isinstance(v, str)},
    )


def create_database(server: str) -> str:
    """A new, empty database on the server; its URL."""
    name = f"ichigen_test_{uuid.uuid4().hex[:12]}"
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(server: str, url: str) -> None:
    name = make_url(url).database
    for _ in range(3):
        try:
            with _admin(server) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except Exception:  # the server is going away with the session: nothing to keep
            time.sleep(0.2)


if __name__ == "__main__":
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL のサーバー（initdb）が見つかりません")
    cluster = Cluster(bindir)
    print(cluster.start(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        cluster.stop()
