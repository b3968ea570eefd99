"""The hybrid workbook for the benches: staff tabs on the Sheets API fake (served by the bench's
own process, so its cost is not the measured cycle's), Ichigen's own tabs on PostgreSQL.

``staff_spreadsheet`` loads a built SQLite workbook's staff tabs (商品, 在庫, モール商品, 受注,
メールテンプレート) into a new spreadsheet on a running fake, cells as stored (numbers stay
numbers); the machine tabs come from a PostgreSQL copy of the same workbook (the hybrid reads
only its machine-owned tabs there). ``open_hybrid`` opens it in a measuring process.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sheets_schema.tabs import TABS


def staff_spreadsheet(server: Any, workbook: Path) -> str:
    """A new spreadsheet on ``server`` with the workbook's staff tabs; its key."""
    tabs: dict[str, list[list[Any]]] = {}
    with sqlite3.connect(workbook) as conn:
        for spec in TABS:
            if spec.machine_owned:
                continue
            found = conn.execute(
                "SELECT id, header FROM ichigen_tabs WHERE title = ?", (spec.title,)
            ).fetchone()
            if found is None:
                if spec.title in ("商品", "在庫", "モール商品", "受注"):
                    raise RuntimeError(f"「{spec.title}」シートがワークブック {workbook} にありません")
                continue  # a tab newer than the build (発注…): the hybrid makes it if asked
            rows = [
                json.loads(cells)
                for (cells,) in conn.execute(
                    "SELECT cells FROM ichigen_rows WHERE tab_id = ? ORDER BY row_number", (found[0],)
                )
            ]
            tabs[spec.title] = [json.loads(found[1]), *rows]
    return server.create_spreadsheet("Ichigen ベンチ（ハイブリッド）", tabs)


def open_hybrid(spreadsheet: str, base_url: str, account_file: str, machine_url: str) -> Any:
    """The hybrid in a measuring process; the service account is the one the bench's own
    process made for its fake (the fake checks the token's signature with that key)."""
    from sheets_schema.adapters.google_sheets import GoogleSheetsWorkbook
    from sheets_schema.adapters.hybrid import HybridWorkbook
    from sheets_schema.adapters.sql import SqlWorkbook

    info = json.loads(Path(account_file).read_text(encoding="utf-8"))
    sheets = GoogleSheetsWorkbook(spreadsheet, info, api_base_url=base_url)
    return HybridWorkbook(sheets, SqlWorkbook(machine_url))


def copy_machine_half(workbook: Path, archive: Path | None, machine_url: str) -> dict[str, float]:
    """The workbook's machine-owned tabs and its archive into an empty PostgreSQL database, with
    the product's own migrate code; seconds taken."""
    import time

    from sheets_schema import migrate as m
    from sheets_schema.adapters.sql import SqlWorkbook, create_sql_engine
    from sheets_schema.archive import Archive
    from sync.state import LEASE_KEY

    engine = create_sql_engine(machine_url)
    started = time.monotonic()
    m.copy_workbook(m.MachineTabs(SqlWorkbook(f"sqlite:///{workbook}")), engine, LEASE_KEY)
    copied = time.monotonic() - started
    if archive is not None and archive.exists():
        tables = m.archive_definitions()
        source = Archive(f"sqlite:///{archive}").engine
        Archive(machine_url, engine=engine)  # tables and indexes, empty
        m.copy_archive(source, engine, tables)
    engine.dispose()
    return {"workbook_seconds": round(copied, 1), "total_seconds": round(time.monotonic() - started, 1)}


def measure_hybrid(
    workbook: Any, cycle: str, offset_seconds: int, skus: int, archive_url: str
) -> dict[str, Any]:
    """One cycle on the hybrid, checked like ``scale_bench.measure`` checks one on SQL."""
    import resource
    import time
    from datetime import timedelta

    from scale_bench import MALLS, NOW, BenchConnector, cpu_seconds, new_orders

    from settings import SyncSettings
    from sheets_schema.archive import Archive
    from sheets_schema.tabs import ORDER_LINES
    from sync.engine import SyncEngine

    before = {ORDER_LINES.title: _rows(workbook, ORDER_LINES.title)}  # on PostgreSQL: no Sheets request
    base = NOW + timedelta(seconds=offset_seconds)
    origin = time.monotonic()

    def clock() -> Any:
        return base + timedelta(seconds=time.monotonic() - origin)

    incoming, new_lines, sold = new_orders(100, skus, base) if cycle == "new100" else ({}, 0, set())
    connectors = [BenchConnector(m, incoming.get(m.name, ())) for m in MALLS]
    engine = SyncEngine(workbook, connectors, SyncSettings(), clock=clock, archive=Archive(archive_url))
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    report = engine.run_once()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    grew = {ORDER_LINES.title: _rows(workbook, ORDER_LINES.title) - before[ORDER_LINES.title]}
    problems = [
        f"{r.mall} {r.job}: {r.result} {r.error}" for r in report.runs if r.result != "成功" or r.failed
    ]
    if [p for p in report.pushes if not p.ok]:
        problems.append("pushes failed")
    if cycle == "new100":
        want = {
            "created": 100,
            "受注明細": new_lines,
            "movements": new_lines,
            "pushes": len(sold) * len(MALLS),
        }
        got = {"created": report.created, "受注明細": grew[ORDER_LINES.title]}
        got["movements"], got["pushes"] = report.movements, len(report.pushes)
    else:
        want = {"created": 0, "movements": 0, "pushes": 0, "受注明細": 0}
        got = {"created": report.created, "movements": report.movements, "pushes": len(report.pushes)}
        got["受注明細"] = grew[ORDER_LINES.title]
    problems += [f"{cycle} {k}: expected {v}, got {got[k]}" for k, v in want.items() if got[k] != v]
    return {
        "cycle": cycle,
        "created": report.created,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_mb": round(peak_mb),
        "problems": problems,
    }


def _rows(workbook: Any, title: str) -> int:
    grid = workbook.machine.read([title])[title]
    return sum(1 for r in grid.rows if any(c.strip() for c in r))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--workbook", type=Path, required=True)
    r.add_argument("--pg-url")
    r.add_argument("--skus", type=int, default=5000)
    mm = sub.add_parser("measure")
    for name in ("--cycle", "--sheets", "--base-url", "--account-file", "--machine-url"):
        mm.add_argument(name, required=True)
    mm.add_argument("--offset", type=int, default=60)
    mm.add_argument("--skus", type=int, default=5000)
    return parser


def measure_arguments(
    cycle: str, spreadsheet: str, base_url: str, account: Path, machine_url: str, offset: int, skus: int
) -> list[str]:
    """The ``measure`` subcommand's arguments. Values go as ``--name=value``: a spreadsheet ID may
    begin with "-" (Google's IDs and the fake's are URL-safe base64), which argparse would
    otherwise read as an option (CI failed once on such an ID)."""
    values = {
        "cycle": cycle,
        "sheets": spreadsheet,
        "base-url": base_url,
        "account-file": str(account),
        "machine-url": machine_url,
        "offset": str(offset),
        "skus": str(skus),
    }
    return ["measure", *(f"--{name}={value}" for name, value in values.items())]


def main() -> None:
    """python bench/hybrid_setup.py run --workbook PATH [--pg-url URL]: the scale bench's cycles on
    the hybrid (staff tabs on the Sheets fake served by this process, the rest on PostgreSQL)."""
    import statistics
    import subprocess
    import sys

    args = build_parser().parse_args()
    if args.command == "measure":
        hybrid = open_hybrid(args.sheets, args.base_url, args.account_file, args.machine_url)
        print(
            json.dumps(
                measure_hybrid(hybrid, args.cycle, args.offset, args.skus, args.machine_url),
                ensure_ascii=False,
            )
        )
        return

    import contextlib

    from tests import pg_cluster
    from tests.fakes.sheets_api import FakeSheetsServer

    archive = args.workbook.with_name(args.workbook.stem + "-archive.sqlite3")
    with contextlib.ExitStack() as stack:
        server_url = args.pg_url
        if server_url is None:
            bindir = pg_cluster.find_bindir()
            if bindir is None:
                raise SystemExit("hybrid bench: PostgreSQL のサーバーがありません（--pg-url か initdb）")
            cluster = pg_cluster.Cluster(bindir)
            server_url = cluster.start()
            stack.callback(cluster.stop)
        machine_url = pg_cluster.create_database(server_url)
        stack.callback(pg_cluster.drop_database, server_url, machine_url)
        copied = copy_machine_half(args.workbook, archive, machine_url)
        sheets = stack.enter_context(FakeSheetsServer())
        key = staff_spreadsheet(sheets, args.workbook)
        from tests.fakes.sheets_api import make_service_account_info

        account = args.workbook.with_name("hybrid-bench-account.json")
        account.write_text(json.dumps(make_service_account_info(sheets.token_uri)), encoding="utf-8")
        stack.callback(account.unlink)
        results = []
        for n, cycle in enumerate(["warmup", "steady", "steady", "steady", "new100"]):
            orders_before = sum(1 for r in sheets.values(key, "受注")[1:] if any(r))
            sheets.reset_counts()
            done = subprocess.run(
                [sys.executable, __file__,
                 *measure_arguments(cycle, key, sheets.base_url, account, machine_url, 60 * (n + 1), args.skus)],
                capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
            )  # fmt: skip
            if done.returncode != 0:
                sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
                raise SystemExit(1)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if result["problems"]:
                raise SystemExit(f"hybrid bench: {cycle} did not do exactly its work: {result['problems']}")
            # The cycle's own requests: the process's one metadata request (a runner that keeps
            # going makes it once, not every cycle) and the token exchange left out.
            kinds = [r.kind for r in sheets.requests if r.kind != "token"]
            kinds.remove("metadata")
            result["sheets_requests"] = len(kinds)
            result["sheets_kinds"] = kinds
            grew = sum(1 for r in sheets.values(key, "受注")[1:] if any(r)) - orders_before
            if grew != result["created"]:
                raise SystemExit(
                    f"hybrid bench: {cycle} wrote {grew} 受注 rows for {result['created']} new orders"
                )
            results.append(result)
        steady = [r for r in results if r["cycle"] == "steady"]
        summary = {
            "copy": copied,
            "warmup_seconds": results[0]["seconds"],
            "steady_seconds": statistics.median(r["seconds"] for r in steady),
            "steady_cpu_seconds": statistics.median(r["cpu_seconds"] for r in steady),
            "steady_sheets_requests": max(r["sheets_requests"] for r in steady),
            "new100_seconds": results[-1]["seconds"],
            "new100_cpu_seconds": results[-1]["cpu_seconds"],
            "new100_sheets_requests": results[-1]["sheets_requests"],
            "peak_rss_mb": max(r["peak_mb"] for r in results),
            "spreadsheet_cells": sum(
                (len(sheets.values(key, t)) or 1) * max((len(r) for r in sheets.values(key, t)), default=1)
                for t in sheets.sheet_titles(key)
            ),
        }
        print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).resolve().parent))
    _sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
