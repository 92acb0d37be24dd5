"""What `earchive destruction propose|submit|appraise|review|decide|cancel|execute|expire|show|lists` print:
a JSON-ready dict and the same in Vietnamese text.

Each command runs in its own catalog transaction; a refused step raises
`WorkflowError` (use `error_result` to print it) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_core.accounts import UserRow
from archive_core.catalog.database import Catalog
from archive_core.commands import CommandOutput
from archive_core.timeutil import iso_vn
from preservation.destruction.errors import WorkflowError, workflow_error
from preservation.destruction.models import (
    CouncilMemberRow,
    DestructionListRow,
    ItemState,
    ListState,
    Opinion,
    OpinionRow,
    TransitionRow,
)
from preservation.destruction.workflow import (
    ACTION_LABELS_VI,
    Action,
    DossierRef,
    ExecutionReport,
    Executor,
    ReviewVerdict,
    Workflow,
    run_execution,
)
from preservation.retention.due import latest_due_list


def error_result(error: WorkflowError) -> CommandOutput:
    return CommandOutput({"error": error.to_dict()}, f"Lỗi {error.code}: {error.message_vi}")


class DestructionCommands:
    def __init__(self, catalog: Catalog, workflow: Workflow) -> None:
        self.catalog = catalog
        self.workflow = workflow

    def _result(self, session: Session, lst: DestructionListRow, headline: str) -> CommandOutput:
        data = list_to_dict(session, lst, now=self.workflow.clock())
        return CommandOutput(data, f"{headline}\n\n{list_text_vi(data)}")

    def propose(
        self,
        actor: str,
        *,
        agency_code: str,
        dossiers: Sequence[DossierRef] = (),
        due_list_id: int | None = None,
        latest_due: bool = False,
        title: str | None = None,
        comment: str | None = None,
        on_behalf_of: str | None = None,
    ) -> CommandOutput:
        """From dossier codes/ids, a stored due list, or (`latest_due`) the newest due list."""
        with self.catalog.session() as session:
            if latest_due:
                due = latest_due_list(session)
                if due is None:
                    raise workflow_error("DS-DUE-LIST", due_list="(mới nhất / latest)")
                due_list_id = due.id
            lst = self.workflow.propose(
                session, actor, agency_code=agency_code, dossiers=dossiers, due_list_id=due_list_id, title=title,
                comment=comment, on_behalf_of=on_behalf_of,
            )
            return self._result(session, lst, f"Đã lập danh mục đề nghị hủy {lst.code}.")

    def withdraw(self, code: str, actor: str, dossiers: Sequence[DossierRef], *, comment: str,
                 on_behalf_of: str | None = None) -> CommandOutput:
        with self.catalog.session() as session:
            lst = self.workflow.withdraw(session, code, actor, dossiers, comment=comment, on_behalf_of=on_behalf_of)
            return self._result(session, lst, f"Đã rút hồ sơ khỏi danh mục {lst.code}.")

    def submit(self, code: str, actor: str, *, members: Sequence[str] | None = None, comment: str | None = None,
               on_behalf_of: str | None = None) -> CommandOutput:
        with self.catalog.session() as session:
            lst = self.workflow.submit(session, code, actor, members=members, comment=comment,
                                       on_behalf_of=on_behalf_of)
            return self._result(session, lst, f"Đã trình Hội đồng xét hủy danh mục {lst.code}.")

    def appraise(
        self,
        code: str,
        actor: str,
        opinion: Opinion | str,
        *,
        dossiers: Sequence[DossierRef] = (),
        comment: str | None = None,
        on_behalf_of: str | None = None,
    ) -> CommandOutput:
        with self.catalog.session() as session:
            lst = self.workflow.give_opinion(session, code, actor, Opinion(opinion), dossiers=dossiers,
                                             comment=comment, on_behalf_of=on_behalf_of)
            return self._result(session, lst, f"Đã ghi ý kiến của {actor} về danh mục {lst.code}.")

    def review(
        self,
        code: str,
        actor: str,
        verdict: ReviewVerdict | str,
        *,
        comment: str | None = None,
        excluded: Sequence[DossierRef] = (),
        on_behalf_of: str | None = None,
    ) -> CommandOutput:
        with self.catalog.session() as session:
            lst = self.workflow.review(session, code, actor, ReviewVerdict(verdict), comment=comment,
                                       excluded=excluded, on_behalf_of=on_behalf_of)
            return self._result(session, lst, f"Đã ghi ý kiến thẩm định của Sở Nội vụ về danh mục {lst.code}.")

    def decide(
        self,
        code: str,
        actor: str,
        *,
        approve: bool,
        rejected: Sequence[DossierRef] = (),
        comment: str | None = None,
        on_behalf_of: str | None = None,
    ) -> CommandOutput:
        with self.catalog.session() as session:
            lst = self.workflow.decide(session, code, actor, approve=approve, rejected=rejected, comment=comment,
                                       on_behalf_of=on_behalf_of)
            return self._result(session, lst, f"Đã ghi quyết định của Thủ trưởng về danh mục {lst.code}.")

    def cancel(self, code: str, actor: str, *, comment: str, on_behalf_of: str | None = None) -> CommandOutput:
        with self.catalog.session() as session:
            lst = self.workflow.cancel(session, code, actor, comment=comment, on_behalf_of=on_behalf_of)
            return self._result(session, lst, f"Đã hủy bỏ danh mục {lst.code}.")

    def execute(self, code: str, actor: str, executor: Executor, *, on_behalf_of: str | None = None) -> CommandOutput:
        _, report = run_execution(self.catalog, self.workflow, code, actor, executor, on_behalf_of=on_behalf_of)
        with self.catalog.session(readonly=True) as session:
            lst = self.workflow.get(session, code)
            result = self._result(session, lst, _execution_headline(lst, report))
        result.data["execution"] = report.to_dict()
        return result

    def expire(self) -> CommandOutput:
        with self.catalog.session() as session:
            expired = self.workflow.expire_overdue(session)
            codes = [lst.code for lst in expired]
        text = ("Các danh mục quá hạn thực hiện, phải quyết định lại: " + ", ".join(codes)) if codes else (
            "Không có danh mục nào quá hạn thực hiện."
        )
        return CommandOutput({"expired": codes}, text)

    def show(self, code: str) -> CommandOutput:
        with self.catalog.session(readonly=True) as session:
            lst = self.workflow.get(session, code)
            data = list_to_dict(session, lst, now=self.workflow.clock())
        return CommandOutput(data, list_text_vi(data))

    def lists(self, *, agency_code: str | None = None, state: ListState | str | None = None) -> CommandOutput:
        now = self.workflow.clock()
        query = select(DestructionListRow).order_by(DestructionListRow.id.desc())
        if agency_code is not None:
            query = query.where(DestructionListRow.agency_code == agency_code)
        if state is not None:
            query = query.where(DestructionListRow.state == ListState(state))
        with self.catalog.session(readonly=True) as session:
            rows = [_summary(lst, now) for lst in session.scalars(query)]
        lines = [
            f"{'⚠ ' if row['attention'] else ''}{row['code']}  {row['agency_code']}  {row['state_vi']}  "
            f"({row['open']} hồ sơ)  {row['title']}"
            for row in rows
        ]
        return CommandOutput({"lists": rows}, "\n".join(lines) or "Chưa có danh mục hủy nào.")


def _execution_headline(lst: DestructionListRow, report: ExecutionReport) -> str:
    if lst.state == ListState.PARTIALLY_DESTROYED:
        return f"CẢNH BÁO: danh mục {lst.code} mới hủy được một phần; các hồ sơ chưa hủy xong sẽ được thực hiện lại."
    if lst.state == ListState.EXECUTED:
        return f"Đã hủy xong các hồ sơ của danh mục {lst.code}."
    return f"Danh mục {lst.code}: {lst.state.label_vi} ({len(report.results)} kết quả)."


# ---------------------------------------------------------------- presentation


def _iso(moment: datetime | None) -> str | None:
    return iso_vn(moment) if moment is not None else None


def _overdue(lst: DestructionListRow, now: datetime) -> bool:
    return lst.state == ListState.APPROVED and lst.execution_deadline is not None and now > lst.execution_deadline


def _summary(lst: DestructionListRow, now: datetime) -> dict[str, Any]:
    overdue = _overdue(lst, now)
    return {
        "code": lst.code,
        "agency_code": lst.agency_code,
        "title": lst.title,
        "state": lst.state.value,
        "state_vi": lst.state.label_vi,
        "open": sum(item.state not in _CLOSED for item in lst.items),
        "overdue": overdue,
        "attention": overdue or lst.state == ListState.PARTIALLY_DESTROYED,
    }


_CLOSED = frozenset({ItemState.WITHDRAWN, ItemState.EXCLUDED, ItemState.HELD, ItemState.REJECTED, ItemState.CANCELLED})


def list_to_dict(session: Session, lst: DestructionListRow, *, now: datetime) -> dict[str, Any]:
    """Everything about a list: its dossiers, council, every opinion and step, and its state (`show`)."""
    users = {row.id: row.username for row in session.scalars(select(UserRow))}
    council = session.scalars(
        select(CouncilMemberRow).where(CouncilMemberRow.list_id == lst.id).order_by(CouncilMemberRow.id)
    )
    rounds: dict[int, list[str]] = {}
    for seat in council:
        rounds.setdefault(seat.round, []).append(users.get(seat.member_id, str(seat.member_id)))
    items = {item.id: item for item in lst.items}
    opinions = session.scalars(select(OpinionRow).where(OpinionRow.list_id == lst.id).order_by(OpinionRow.id))
    steps = session.scalars(
        select(TransitionRow).where(TransitionRow.list_id == lst.id).order_by(TransitionRow.seq)
    )
    tally = Workflow.council_tally(session, lst) if lst.state == ListState.COUNCIL_REVIEW else {}
    return {
        **_summary(lst, now),
        "round": lst.round,
        "due_list_id": lst.due_list_id,
        "so_noi_vu_required": lst.so_noi_vu_required,
        "policy": lst.policy,
        "proposed_by": users.get(lst.proposed_by_id),
        "proposed_at": iso_vn(lst.proposed_at),
        "decided_by": users.get(lst.decided_by_id) if lst.decided_by_id else None,
        "decided_at": _iso(lst.decided_at),
        "execution_deadline": _iso(lst.execution_deadline),
        "executed_at": _iso(lst.executed_at),
        "partially_destroyed": lst.state == ListState.PARTIALLY_DESTROYED,
        "council": [{"round": number, "members": members} for number, members in sorted(rounds.items())],
        "dossiers": [
            {
                "position": item.position + 1, "dossier_id": item.dossier_id, "code": item.dossier_code,
                "title": item.title, "retention_due": item.retention_due.isoformat() if item.retention_due else None,
                "maintenance": item.maintenance, "state": item.state.value, "state_vi": item.state.label_vi,
                "note": item.note, "tally": list(tally[item.id]) if item.id in tally else None,
            }
            for item in lst.items
        ],
        "opinions": [
            {
                "round": row.round, "member": users.get(row.member_id), "actor": users.get(row.actor_id),
                "dossier_id": items[row.item_id].dossier_id, "code": items[row.item_id].dossier_code,
                "opinion": row.opinion.value, "opinion_vi": row.opinion.label_vi, "whole_list": row.whole_list,
                "comment": row.comment, "at": iso_vn(row.at),
            }
            for row in opinions
        ],
        "history": [
            {
                "seq": row.seq, "action": row.action, "action_vi": ACTION_LABELS_VI[Action(row.action)],
                "from": row.from_state.value if row.from_state else None, "to": row.to_state.value,
                "actor": row.actor, "on_behalf_of": row.on_behalf_of, "role": row.role,
                "capacity": row.capacity.value, "at": iso_vn(row.at), "comment": row.comment,
                "details": row.details, "audit_seq": row.audit_seq,
            }
            for row in steps
        ],
    }


def list_text_vi(data: dict[str, Any]) -> str:
    lines = [
        f"DANH MỤC TÀI LIỆU HẾT GIÁ TRỊ ĐỀ NGHỊ HỦY {data['code']}",
        data["title"],
        f"Cơ quan: {data['agency_code']}   Trạng thái: {data['state_vi']}",
        f"Lập bởi: {data['proposed_by']} lúc {data['proposed_at']}"
        + ("; cần Sở Nội vụ thẩm định" if data["so_noi_vu_required"] else ""),
    ]
    if data["decided_at"]:
        lines.append(f"Quyết định hủy: {data['decided_by']} lúc {data['decided_at']}; "
                     f"phải thực hiện trước {data['execution_deadline']}")
    if data["overdue"]:
        lines.append("⚠ ĐÃ QUÁ HẠN THỰC HIỆN: quyết định hết hiệu lực, Thủ trưởng phải quyết định lại.")
    if data["partially_destroyed"]:
        lines.append("⚠ HỦY CHƯA HOÀN TẤT: còn hồ sơ chưa hủy xong, phải thực hiện lại.")
    if data["executed_at"]:
        lines.append(f"Đã hủy xong lúc {data['executed_at']}")
    for council in data["council"]:
        lines.append(f"Hội đồng xét hủy (vòng {council['round']}): {', '.join(council['members'])}")
    lines.append("")
    lines.append("Hồ sơ:")
    for item in data["dossiers"]:
        tally = f" [đồng ý {item['tally'][0]}, không đồng ý {item['tally'][1]}]" if item["tally"] else ""
        note = f" — {item['note']}" if item["note"] else ""
        lines.append(
            f"  {item['position']:>3}. {item['code'] or item['dossier_id']}  {item['title'] or ''}  "
            f"(hết hạn {item['retention_due'] or '?'}): {item['state_vi']}{tally}{note}"
        )
    if data["opinions"]:
        lines.append("")
        lines.append("Ý kiến Hội đồng:")
        for row in data["opinions"]:
            acting = f" (do {row['actor']} thực hiện thay)" if row["actor"] != row["member"] else ""
            comment = f": {row['comment']}" if row["comment"] else ""
            lines.append(
                f"  vòng {row['round']} {row['at']} {row['member']}{acting} — {row['code'] or row['dossier_id']}: "
                f"{row['opinion_vi']}{comment}"
            )
    lines.append("")
    lines.append("Diễn biến:")
    for row in data["history"]:
        behalf = f" thay {row['on_behalf_of']}" if row["on_behalf_of"] else ""
        comment = f" — {row['comment']}" if row["comment"] else ""
        lines.append(f"  {row['seq']:>3}. {row['at']} {row['actor']}{behalf}: {row['action_vi']} "
                     f"({row['from'] or '—'} → {row['to']}){comment}")
    return "\n".join(lines)
