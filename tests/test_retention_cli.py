"""The command functions behind `earchive retention …` and `earchive holds …`."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from archive_core.audit import AuditLog, anchors_dir_for
from archive_core.catalog import Catalog, DossierState, repo
from archive_core.model import Document, DocumentKind, Dossier, DossierKind
from archive_core.settings import Settings, Storage
from archive_core.timeutil import VN_TZ
from preservation.retention import assign_at_ingest, load_schedule
from preservation.retention.cli import (
    due_command,
    extend_command,
    history_command,
    holds_add_command,
    holds_list_command,
    holds_release_command,
    schedule_command,
    set_type_command,
    trigger_command,
)

pytest_plugins = ["tests.catalog_fixtures"]

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=VN_TZ)
AGENCY = "000.00.00.H49"


def clock() -> datetime:
    return T0


@pytest.fixture
def settings(catalog: Catalog, catalog_url: str, tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", storage=Storage(catalog_url=catalog_url))
    audit = AuditLog(catalog, anchors_dir_for(settings), clock=clock)
    schedule = load_schedule()
    for code, maintenance, end in (("H49.2015.01", "10 năm", 2015), ("H49.2015.02", "Vĩnh viễn", 2015),
                                   ("H49.2020.03", "Đến khi văn bản hết hiệu lực", 2020),
                                   ("H49.2021.04", "5 năm", 2021)):
        dossier = Dossier(kind=DossierKind.HOSO, file_code=code, title=f"Hồ sơ {code}", maintenance=maintenance,
                          end_date=f"31/12/{end}",
                          documents=[Document(kind=DocumentKind.DOC, doc_code=f"{code}.0000001", type_name="22")])
        with catalog.session() as session:
            row = repo.add_dossier(session, dossier, aip_id=f"aip-{code}", agency_code=AGENCY, clock=clock)
            assign_at_ingest(session, row, schedule=schedule, audit=audit, clock=clock)
            row.state = DossierState.ARCHIVED
    return settings


def test_due_command_lists_in_vietnamese_and_as_json(settings: Settings) -> None:
    out = due_command(settings, clock=clock)
    assert out.exit_code == 0
    assert "Danh mục tài liệu hết giá trị tính đến ngày 21/11/2026: 1 hồ sơ" in out.text
    assert "H49.2015.01" in out.text and "Xem xét hủy" in out.text and "01/01/2026" in out.text
    data = json.loads(json.dumps(out.data))
    assert [item["code"] for item in data["due"]] == ["H49.2015.01"]
    assert data["notice_days"] == 30 and data["upcoming"] == []
    ahead = due_command(settings, on=date(2026, 12, 15), clock=clock)
    assert [item["code"] for item in ahead.data["upcoming"]] == ["H49.2021.04"]
    assert "Sắp đến hạn trong 30 ngày tới (đến 14/01/2027): 1 hồ sơ." in ahead.text
    assert "… và 1 hồ sơ khác." in due_command(settings, on=date(2027, 1, 1), limit=1, clock=clock).text


def test_hold_commands(settings: Settings) -> None:
    added = holds_add_command(settings, dossiers=["H49.2015.01"], reason="Thanh tra", owner="lananh.ttr",
                              clock=clock)
    assert added.exit_code == 0, added.text
    hold_id = added.data["hold"]["id"]
    assert added.data["covered"] == 1 and added.data["hold"]["scope"] == "dossier"
    assert due_command(settings, clock=clock).data["due_count"] == 0
    agency = holds_add_command(settings, agency=AGENCY, reason="Tranh chấp", owner="minh.pc", clock=clock)
    assert agency.data["covered"] == 4
    listing = holds_list_command(settings, clock=clock)
    assert [hold["id"] for hold in listing.data["holds"]] == [hold_id, agency.data["hold"]["id"]]
    assert "2 lệnh tạm giữ" in listing.text and "lananh.ttr" in listing.text

    released = holds_release_command(settings, hold_id, by="minhtq.vp", clock=clock)
    assert released.exit_code == 0 and released.data["hold"]["released_by"] == "minhtq.vp"
    assert due_command(settings, clock=clock).data["due_count"] == 0  # the agency hold still covers it
    holds_release_command(settings, agency.data["hold"]["id"], by="minhtq.vp", clock=clock)
    assert due_command(settings, clock=clock).data["due_count"] == 1
    assert holds_list_command(settings, clock=clock).text == "Không có lệnh tạm giữ nào đang có hiệu lực."
    assert len(holds_list_command(settings, include_released=True, clock=clock).data["holds"]) == 2

    refused = holds_release_command(settings, hold_id, by="x", clock=clock)
    assert refused.exit_code == 1 and refused.data["ok"] is False and refused.text.startswith("Lỗi:")
    assert holds_add_command(settings, reason="r", owner="o", clock=clock).exit_code == 1
    both = holds_add_command(settings, agency=AGENCY, fonds="PH", reason="r", owner="o", clock=clock)
    assert both.exit_code == 1
    with Catalog(settings.catalog_url) as catalog:
        log = AuditLog(catalog, anchors_dir_for(settings))
        actions = [(entry.action, entry.actor) for entry in log.entries() if entry.action.startswith("legal_hold")]
        assert actions == [("legal_hold.placed", "lananh.ttr"), ("legal_hold.placed", "minh.pc"),
                           ("legal_hold.released", "minhtq.vp"), ("legal_hold.released", "minhtq.vp")]
        assert log.verify().ok


def test_extend_trigger_and_history_commands(settings: Settings) -> None:
    extended = extend_command(settings, "H49.2015.01", years=30, reason="Còn giá trị", by="chu-tich", clock=clock)
    assert extended.exit_code == 0, extended.text
    assert extended.data["retention"]["due"] == "2046-01-01"
    assert extended.text == "Đã gia hạn hồ sơ H49.2015.01: thời hạn bảo quản 30 năm; ngày hết hạn: 01/01/2046."
    too_short = extend_command(settings, "H49.2015.01", years=5, reason="x", by="chu-tich", clock=clock)
    assert too_short.exit_code == 1
    assert extend_command(settings, "H49.404", years=30, reason="x", by="y", clock=clock).exit_code == 1

    triggered = trigger_command(settings, "H49.2020.03", trigger_on=date(2027, 2, 1), by="hoa.lt", clock=clock)
    assert triggered.exit_code == 0 and triggered.data["retention"]["due"] == "2027-02-01"
    assert trigger_command(settings, "H49.2015.02", trigger_on=date(2027, 2, 1), by="hoa.lt",
                           clock=clock).exit_code == 1

    later = lambda: T0 + timedelta(days=1)  # noqa: E731
    typed = set_type_command(settings, "H49.2021.04", "TH.10", by="thu.nv", clock=later)
    assert typed.exit_code == 0 and typed.data["retention"]["record_type"] == "TH.10"

    history = history_command(settings, "H49.2015.01", clock=clock)
    assert [change["kind"] for change in history.data["history"]] == ["assigned", "extended"]
    assert "lý do: Còn giá trị" in history.text


def test_schedule_command_shows_the_verification_status(settings: Settings) -> None:
    out = schedule_command(settings)
    assert out.data["unverified"] == len(out.data["entries"]) > 0
    assert "cần đối chiếu" in out.text and "TT 10/2022/TT-BNV" in out.text
