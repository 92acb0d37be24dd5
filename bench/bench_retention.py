"""Benchmark retention over a million dossiers, on SQLite and PostgreSQL: holds, build_due_list, the due job.

    .venv/bin/python bench/bench_retention.py [--rows 1000000] [--backend sqlite postgresql]
                                              [--pg-url postgresql+psycopg://…] [--save]

The catalog is filled exactly as bench/bench_catalog.py does (same synthetic
rows, same bulk load). Then, on a catalog migrated to every head (0002_retention
included):

- holds: an agency hold (one of 200 agencies), a fonds hold (matched through
  `dossiers.organ_id`, which has no index: the worst case) and a list hold of
  100 dossiers, each placed through `place_hold` (flags updated, audited);
- build_due_list: the full due list (every due dossier as a `DueItem`, holds
  re-checked on the rows) with notice 0 and with the 30-day notice, and on
  15 December with the 30-day notice (next year's batch in the advance list);
  warm, best of N, the first (cold-ish) run, and the mean CPU time of this
  process (the part that does not depend on other load on the machine; for
  PostgreSQL the server's own CPU is not in it);
- run_due_job: refresh of every hold flag, both lists built and stored with
  their items, audit entry; the first run and a second one (unchanged lists
  are not stored again).

`--save` writes bench/results/retention.json. Exit status 1 when build_due_list
takes 2 s or more on any backend.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from bench_catalog import AGENCIES, best_of, fill_postgresql, fill_sqlite, query_plan, synthetic_rows  # noqa: E402

from archive_core.audit import AuditLog, anchors_dir_for  # noqa: E402
from archive_core.catalog import Catalog, DossierRow, DossierState, repo  # noqa: E402
from archive_core.settings import Settings, Storage  # noqa: E402
from archive_core.timeutil import VN_TZ  # noqa: E402
from preservation.retention import HoldScope, build_due_list, place_hold, run_due_job  # noqa: E402

RESULTS = BENCH / "results"
LIMIT_S = 2.0


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def place_holds(catalog: Catalog, audit: AuditLog) -> dict[str, Any]:
    timings: dict[str, Any] = {}
    with catalog.session() as session:
        seconds, hold = timed(lambda: place_hold(
            session, scope=HoldScope.AGENCY, code=AGENCIES[0], reason="bench", owner="bench", audit=audit))
        timings["agency_hold_s"] = round(seconds, 4)
        seconds, hold = timed(lambda: place_hold(
            session, scope=HoldScope.FONDS, code=AGENCIES[1], reason="bench", owner="bench", audit=audit))
        timings["fonds_hold_s"] = round(seconds, 4)
        query = select(DossierRow).where(DossierRow.state == DossierState.ARCHIVED).order_by(DossierRow.id)
        listed = list(session.scalars(query.offset(5000).limit(100)))
        seconds, hold = timed(lambda: place_hold(
            session, scope=HoldScope.LIST, dossiers=listed, reason="bench", owner="bench", audit=audit))
        timings["list_hold_100_s"] = round(seconds, 4)
        del hold
    return timings


def bench_backend(url: str, rows: int, day: date, runs: int, home: Path) -> dict[str, Any]:
    settings = Settings(home=home, storage=Storage(catalog_url=url))
    moment = datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ) + timedelta(hours=2)

    def clock() -> datetime:
        return moment

    with Catalog(url) as catalog:
        catalog.migrate()
        started = time.perf_counter()
        (fill_sqlite if catalog.dialect == "sqlite" else fill_postgresql)(catalog, synthetic_rows(rows))
        fill_seconds = time.perf_counter() - started
        # fill_postgresql leaves its pooled connection in autocommit mode: start from fresh connections.
        catalog.engine.dispose()
        audit = AuditLog(catalog, anchors_dir_for(settings), clock=clock)
        result: dict[str, Any] = {"backend": catalog.dialect, "rows": rows, "fill_s": round(fill_seconds, 2),
                                  "due_on": day.isoformat(), "holds": place_holds(catalog, audit)}
        # 15 December: the 30-day notice reaches past 1 January, when a whole year's batch falls due.
        cases = {"notice_0": (day, 0), "notice_30": (day, 30), "dec15_notice_30": (date(day.year, 12, 15), 30)}
        for name, (on, notice) in cases.items():
            cpu_started = time.process_time()
            first, best, listing = best_of(runs, partial(build_due_list, catalog, on, notice_days=notice))
            result[f"build_due_list_{name}"] = {
                "on": on.isoformat(), "first_s": round(first, 4), "best_s": round(best, 4),
                "mean_cpu_s": round((time.process_time() - cpu_started) / runs, 4),
                "due": len(listing.due), "upcoming": len(listing.upcoming),
            }
        result["plan"] = query_plan(catalog, repo.due_dossiers_query(day, notice_days=30).limit(100))
        for name in ("run_due_job_first", "run_due_job_again"):
            seconds, job = timed(lambda: run_due_job(settings, clock=clock, catalog=catalog))
            result[name] = {"s": round(seconds, 3), "due": job.due_list.item_count,
                            "advance": job.advance_list.item_count, "due_reused": job.due_reused,
                            "flags_set": job.flags_set, "flags_cleared": job.flags_cleared}
        result["audit_ok"] = audit.verify().ok
        result["load_average"] = [round(value, 2) for value in os.getloadavg()]
        return result


def bench_postgresql(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    if args.pg_url:
        return bench_backend(args.pg_url, args.rows, args.due_on, args.runs, home)
    from tests.services_pg import postgres_server

    with postgres_server() as server:
        url = server.url(server.create_database("bench"))
        return bench_backend(url, args.rows, args.due_on, args.runs, home)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: a throw-away cluster)")
    parser.add_argument("--due-on", type=date.fromisoformat, default=date(2026, 11, 21))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--save", action="store_true", help=f"write {RESULTS / 'retention.json'}")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory(prefix="earchive-bench-retention-") as scratch:
        if "sqlite" in args.backend:
            url = f"sqlite:///{scratch}/catalog.sqlite"
            results.append(bench_backend(url, args.rows, args.due_on, args.runs, Path(scratch) / "home-sqlite"))
            print(json.dumps(results[-1], ensure_ascii=False, indent=2), flush=True)
        if "postgresql" in args.backend:
            results.append(bench_postgresql(args, Path(scratch) / "home-pg"))
            print(json.dumps(results[-1], ensure_ascii=False, indent=2), flush=True)
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "retention.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    slow = [r["backend"] for r in results
            if max(value["best_s"] for key, value in r.items() if key.startswith("build_due_list")) >= LIMIT_S]
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
