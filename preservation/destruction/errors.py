"""`WorkflowError`: a refused destruction step, with a stable code and Vietnamese and English messages."""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    def __init__(self, code: str, message_vi: str, message_en: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en
        self.params = dict(params or {})

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message_vi": self.message_vi, "message_en": self.message_en,
                "params": self.params}


MESSAGES: dict[str, tuple[str, str]] = {
    "DS-NO-LIST": ("Không có danh mục hủy {list}.", "No destruction list {list}."),
    "DS-STATE": (
        "Không thể {action_vi} khi danh mục {list} đang ở trạng thái “{state_vi}”.",
        "Cannot {action} while list {list} is {state}.",
    ),
    "DS-ACCOUNT": (
        "Tài khoản {user} đang bị khóa hoặc đã ngừng hoạt động: không được thực hiện bước này.",
        "Account {user} is locked or no longer active: it cannot take this step.",
    ),
    "DS-NOT-PERSON": (
        "{user} là tài khoản hệ thống: mỗi bước hủy tài liệu phải do một cá nhân có thẩm quyền thực hiện.",
        "{user} is a system account: every destruction step must be taken by a named, authorised person.",
    ),
    "DS-ROLE": (
        "{user} không có vai trò {role_vi} tại cơ quan {agency} vào thời điểm này.",
        "{user} does not hold role {role} for agency {agency} at this time.",
    ),
    "DS-NO-DELEGATION": (
        "{user} không có ủy quyền còn hiệu lực của {principal} cho vai trò {role_vi} tại cơ quan {agency}.",
        "{user} has no delegation in force from {principal} for role {role} at agency {agency}.",
    ),
    "DS-AMBIGUOUS": (
        "{user} được ủy quyền thay nhiều người ({principals}): hãy ghi rõ thực hiện thay ai.",
        "{user} may act for several people ({principals}): name on whose behalf.",
    ),
    "DS-SEPARATION": (
        "{user} đã tham gia danh mục {list} với tư cách {prior_vi}{through_vi}; không được thực hiện tiếp "
        "với tư cách {capacity_vi} (không một người nào được tự mình quyết định việc hủy).",
        "{user} already took part in list {list} as {prior}{through}; cannot also act as {capacity} "
        "(no single person may bring about a destruction).",
    ),
    "DS-REVIEWER-AGENCY": (
        "{user} thuộc cơ quan {agency} có tài liệu đề nghị hủy: không được thẩm định thay Sở Nội vụ.",
        "{user} belongs to agency {agency} whose records are listed: cannot review for the Sở Nội vụ.",
    ),
    "DS-NOT-DESIGNATED": (
        "{member} không có trong Hội đồng xét hủy được chỉ định cho danh mục {list} (vòng {round}).",
        "{member} is not a designated council member of list {list} (round {round}).",
    ),
    "DS-COUNCIL-SIZE": (
        "Hội đồng xét hủy cần ít nhất {min} thành viên khác nhau; đã chỉ định {count}.",
        "The council needs at least {min} distinct members; {count} designated.",
    ),
    "DS-MEMBER-ROLE": (
        "{member} không giữ vai trò thành viên Hội đồng xét hủy tại cơ quan {agency} hoặc tài khoản không dùng được.",
        "{member} does not hold the council member role for agency {agency}, or the account is unusable.",
    ),
    "DS-NO-DOSSIERS": ("Danh mục đề nghị hủy không có hồ sơ nào.", "The list would contain no dossier."),
    "DS-DOSSIER-UNKNOWN": ("Không có hồ sơ {dossier}.", "No dossier {dossier}."),
    "DS-DOSSIER-AMBIGUOUS": (
        "Mã {dossier} ứng với nhiều hồ sơ: hãy dùng mã số hồ sơ trong hệ thống.",
        "Code {dossier} matches several dossiers: use the dossier's id.",
    ),
    "DS-DOSSIER-AGENCY": (
        "Hồ sơ {dossier} thuộc cơ quan {other}, không phải {agency}: mỗi danh mục chỉ gồm hồ sơ của một cơ quan.",
        "Dossier {dossier} belongs to agency {other}, not {agency}: a list holds one agency's dossiers.",
    ),
    "DS-DOSSIER-STATE": (
        "Hồ sơ {dossier} đang ở trạng thái {state}, không phải đang lưu trữ.",
        "Dossier {dossier} is {state}, not archived.",
    ),
    "DS-NOT-DUE": (
        "Hồ sơ {dossier} chưa hết thời hạn bảo quản (đến hạn: {due}).",
        "Dossier {dossier} is not due for destruction (due: {due}).",
    ),
    "DS-PERMANENT": (
        "Hồ sơ {dossier} có thời hạn bảo quản vĩnh viễn: không được hủy.",
        "Dossier {dossier} is kept permanently: it cannot be destroyed.",
    ),
    "DS-HELD": (
        "Hồ sơ {dossier} đang bị phong tỏa (legal hold): không được đưa vào danh mục hủy.",
        "Dossier {dossier} is under a legal hold: it cannot be listed for destruction.",
    ),
    "DS-ON-OTHER-LIST": (
        "Hồ sơ {dossier} đã có trong danh mục hủy {other} chưa kết thúc.",
        "Dossier {dossier} is already on open destruction list {other}.",
    ),
    "DS-NOT-ON-LIST": (
        "Hồ sơ {dossier} không còn trong danh mục {list}.",
        "Dossier {dossier} is not (or no longer) on list {list}.",
    ),
    "DS-COMMENT": (
        "Cần ghi rõ lý do khi {action_vi}.",
        "A comment stating the reason is required to {action}.",
    ),
    "DS-EXPIRED": (
        "Đã quá thời hạn thực hiện hủy ({deadline}): quyết định hết hiệu lực, Thủ trưởng phải quyết định lại.",
        "The execution deadline ({deadline}) has passed: the decision expired and must be taken again.",
    ),
    "DS-EMPTY": (
        "Rút các hồ sơ này sẽ làm danh mục không còn hồ sơ nào: hãy hủy bỏ danh mục.",
        "Withdrawing these dossiers would empty the list: cancel the list instead.",
    ),
    "DS-NOT-IN-DUE-LIST": (
        "Hồ sơ {dossier} không có trong danh mục tài liệu hết giá trị số {due_list}.",
        "Dossier {dossier} is not on due list {due_list}.",
    ),
    "DS-RETRY-HELD": (
        "Mọi hồ sơ còn phải hủy lại của danh mục đều đang bị phong tỏa ({dossiers}): danh mục vẫn ở trạng thái "
        "hủy chưa hoàn tất.",
        "Every dossier left to destroy is under a legal hold ({dossiers}): the list stays partially destroyed.",
    ),
    "DS-DUE-LIST": ("Không có danh mục tài liệu hết giá trị {due_list}.", "No stored due list {due_list}."),
    "DS-REPORT": (
        "Báo cáo thực hiện hủy nêu hồ sơ {dossier} không thuộc lượt hủy đang thực hiện của danh mục {list}.",
        "The execution report names dossier {dossier}, which is not being executed on list {list}.",
    ),
    "DS-DECISION": (
        "Quyết định không hợp lệ: {detail_vi}.",
        "Invalid decision: {detail}.",
    ),
}


def workflow_error(code: str, **params: Any) -> WorkflowError:
    vi, en = MESSAGES[code]
    return WorkflowError(code, vi.format(**params), en.format(**params), params)
