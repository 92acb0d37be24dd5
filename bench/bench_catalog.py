"""Benchmark the catalog's due list (R-RT-3) over a million dossiers, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_catalog.py [--rows 1000000] [--backend sqlite postgresql]
                                            [--pg-url postgresql+psycopg://…] [--save]

Fills the `dossiers` table of a freshly migrated catalog (the real schema and
indexes) with synthetic but realistic rows: 95 % archived, the rest pending or
destroyed; 40 % permanent, the others kept 5–70 years from an end year between
1990 and 2025; 0.5 % under legal hold. SQLite is filled with executemany in
one transaction, PostgreSQL with COPY; both drop the secondary indexes first and
build them after the load, as a bulk load does (the final schema is the same). Then it times, warm, best of N:

- count: how many dossiers are due on the given day;
- first page: the first 100 due dossiers as ORM objects, earliest first
  (what the archivist's screen shows);
- full list: every due dossier (id, code, title, due date) as rows.

Without `--pg-url` a throw-away PostgreSQL cluster is started (tests/services_pg.py).
`--save` writes bench/results/catalog.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive_core.catalog import Catalog, DossierRow, DossierState
from archive_core.catalog.repo import due_dossiers_query, retention_due_date

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 50_000
PAGE = 100
RETENTION_SLOTS = [None] * 40 + [70] * 10 + [50] * 10 + [30] * 10 + [20] * 10 + [10] * 15 + [5] * 5
"""Years kept, one slot per percent: 40 % permanent, 15 % ten years …"""
AGENCIES = [f"H{a}.{b}.{c}" for a in range(40, 45) for b in range(60, 65) for c in range(30, 38)]
COLUMNS = (
    "kind", "code", "file_code", "organ_id", "title", "start_date", "end_date", "start_on", "end_on", "end_year",
    "maintenance", "maintenance_code", "retention_years", "retention_permanent", "retention_due", "legal_hold",
    "mode", "agency_code", "agency_name", "state", "aip_id", "master_key_id", "key_destroyed", "created_at",
    "archived_at", "fingerprint", "metadata",
)
Row = tuple[Any, ...]


def synthetic_rows(count: int, seed: int = 20261121) -> Iterator[Row]:
    """Rows in `COLUMNS` order, as Python values (dates, datetimes, bools, a dict for the metadata)."""
    rand = random.Random(seed).random
    created = datetime(2026, 1, 1, tzinfo=UTC)
    archived_at = created + timedelta(minutes=1)
    for n in range(count):
        end_year = 1990 + int(rand() * 36)
        years = RETENTION_SLOTS[int(rand() * 100)]
        roll = rand()
        state = (
            DossierState.ARCHIVED if roll < 0.95 else DossierState.PENDING if roll < 0.97 else DossierState.DESTROYED
        )
        agency = AGENCIES[int(rand() * len(AGENCIES))]
        code = f"{agency}.{end_year}.{n}"
        title = f"Hồ sơ về việc tổ chức, bộ máy và cán bộ năm {end_year}, số {n}"
        maintenance = "Vĩnh viễn" if years is None else f"{years} năm"
        start_date, end_date = f"01/01/{end_year}", f"31/12/{end_year}"
        metadata = {"kind": "hoso", "file_code": code, "title": title, "maintenance": maintenance,
                    "start_date": start_date, "end_date": end_date, "mode": "01", "language": "01",
                    "total_doc": str(n % 60 + 1), "fonds": None}
        yield (
            "hoso", code, code, agency, title, start_date, end_date, date(end_year, 1, 1), date(end_year, 12, 31),
            end_year, maintenance, None, years, years is None, retention_due_date(end_year, years),
            rand() < 0.005, "01", agency, "Sở Nội vụ tỉnh Đắk Lắk", state, f"aip-{n:012d}", "master-1", False,
            created, archived_at if state == DossierState.ARCHIVED else None, f"{n:064x}", metadata,
        )


def sqlite_values(catalog: Catalog, rows: Iterator[Row]) -> Iterator[Row]:
    """The values SQLAlchemy itself would bind (its own type processors), memoised where they repeat."""
    table = DossierRow.__table__
    dialect = catalog.engine.dialect
    processors = [table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in COLUMNS]
    metadata = COLUMNS.index("metadata")
    caches: list[dict[Any, Any]] = [{} for _ in COLUMNS]
    for row in rows:
        values = list(row)
        for index, process in enumerate(processors):
            if process is None or values[index] is None:
                continue
            if index == metadata:
                values[index] = process(values[index])
                continue
            cache = caches[index]
            key = values[index]
            if key not in cache:
                cache[key] = process(key)
            values[index] = cache[key]
        yield tuple(values)


def fill_sqlite(catalog: Catalog, rows: Iterator[Row]) -> None:
    """executemany in one transaction, secondary indexes dropped first and rebuilt after (as a bulk load does)."""
    insert_sql = f"INSERT INTO dossiers ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    with catalog.engine.begin() as connection:
        indexes = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dossiers' AND sql IS NOT NULL"
        ).all()
        for name, _ in indexes:
            connection.exec_driver_sql(f"DROP INDEX {name}")
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        values = sqlite_values(catalog, rows)
        while batch := list(itertools.islice(values, BATCH)):
            cursor.executemany(insert_sql, batch)
        for _, create in indexes:
            connection.exec_driver_sql(create)
        connection.exec_driver_sql("ANALYZE")


def fill_postgresql(catalog: Catalog, rows: Iterator[Row]) -> None:
    """COPY, secondary indexes dropped first and rebuilt after (constraint indexes stay)."""
    metadata = COLUMNS.index("metadata")
    state = COLUMNS.index("state")
    connection = catalog.engine.raw_connection()
    try:
        with connection.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'dossiers' "
                "AND schemaname = current_schema() "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            with cursor.copy(f"COPY dossiers ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    values = list(row)
                    values[state] = values[state].value
                    values[metadata] = json.dumps(values[metadata])
                    copy.write_row(values)
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _, create in indexes:
                cursor.execute(create)
        connection.commit()
        # Steady state, as autovacuum leaves it: statistics, and a visibility map for index-only scans.
        connection.driver_connection.autocommit = True  # type: ignore[union-attr]
        with connection.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute("VACUUM ANALYZE dossiers")
    finally:
        connection.close()


def best_of(runs: int, action: Callable[[], Any]) -> tuple[float, float, Any]:
    """(first run, best run) in seconds, and the last result."""
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - started)
    return timings[0], min(timings), result


def time_queries(catalog: Catalog, day: date, runs: int) -> dict[str, Any]:
    due = due_dossiers_query(day)

    def count() -> int:
        with catalog.session(readonly=True) as session:
            return int(session.scalar(select(func.count()).select_from(due.subquery())) or 0)

    def first_page() -> int:
        with catalog.session(readonly=True) as session:
            return len(list(session.scalars(due.limit(PAGE))))

    def full_list() -> int:
        listing = due.with_only_columns(DossierRow.id, DossierRow.code, DossierRow.title, DossierRow.retention_due)
        with catalog.session(readonly=True) as session:
            return len(session.execute(listing).all())

    results: dict[str, Any] = {}
    for name, action in (("count", count), ("first_page", first_page), ("full_list", full_list)):
        first, best, value = best_of(runs, action)
        results[name] = {"first_s": round(first, 4), "best_s": round(best, 4), "rows": value}
    results["plan"] = query_plan(catalog, due.limit(PAGE))
    return results


def query_plan(catalog: Catalog, query: Any) -> str:
    with catalog.session(readonly=True) as session:
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN" if catalog.dialect == "sqlite" else "EXPLAIN"
        return " | ".join(" ".join(str(part) for part in row) for row in session.execute(text(f"{prefix} {compiled}")))


def bench_backend(url: str, rows: int, day: date, runs: int) -> dict[str, Any]:
    with Catalog(url) as catalog:
        catalog.migrate()
        started = time.perf_counter()
        fill = fill_sqlite if catalog.dialect == "sqlite" else fill_postgresql
        fill(catalog, synthetic_rows(rows))
        fill_seconds = time.perf_counter() - started
        with catalog.session(readonly=True) as session:
            stored = int(session.scalar(select(func.count()).select_from(DossierRow)) or 0)
        if stored != rows:
            raise SystemExit(f"{catalog.dialect}: {stored} rows stored, {rows} expected")
        return {"backend": catalog.dialect, "rows": rows, "fill_s": round(fill_seconds, 2),
                "due_on": day.isoformat(), **time_queries(catalog, day, runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: a throw-away cluster)")
    parser.add_argument("--due-on", type=date.fromisoformat, default=date(2026, 11, 21))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--save", action="store_true", help=f"write {RESULTS / 'catalog.json'}")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory(prefix="earchive-bench-catalog-") as scratch:
        if "sqlite" in args.backend:
            results.append(bench_backend(f"sqlite:///{scratch}/catalog.sqlite", args.rows, args.due_on, args.runs))
            print(json.dumps(results[-1], ensure_ascii=False, indent=2), flush=True)
        if "postgresql" in args.backend:
            results.append(bench_postgresql(args))
            print(json.dumps(results[-1], ensure_ascii=False, indent=2), flush=True)
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "catalog.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    slow = [r["backend"] for r in results if r["first_page"]["best_s"] >= 2 or r["count"]["best_s"] >= 2]
    return 1 if slow else 0


def bench_postgresql(args: argparse.Namespace) -> dict[str, Any]:
    if args.pg_url:
        return bench_backend(args.pg_url, args.rows, args.due_on, args.runs)
    from tests.services_pg import postgres_server

    with postgres_server() as server:
        return bench_backend(server.url(server.create_database("bench")), args.rows, args.due_on, args.runs)


if __name__ == "__main__":
    raise SystemExit(main())
