"""Errors of the retention services, worded for people in Vietnamese and English."""

from __future__ import annotations


class RetentionError(Exception):
    """A retention, hold or due-list request that cannot be carried out; nothing was changed."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en

    def to_dict(self) -> dict[str, str]:
        return {"message_vi": self.message_vi, "message_en": self.message_en}


def require_text(value: str | None, what_vi: str, what_en: str) -> str:
    """A non-blank value (who did it, why): the audit trail needs both."""
    if value is None or not value.strip():
        raise RetentionError(f"Thiếu {what_vi}.", f"Missing {what_en}.")
    return value.strip()
