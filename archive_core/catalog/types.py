"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from archive_core.timeutil import VN_TZ

BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit keys on PostgreSQL; SQLite needs INTEGER to make the key its rowid."""

JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")
"""Metadata documents: JSONB on PostgreSQL so that they can be queried and indexed."""

JSON_VERBATIM = JSON()
"""JSON kept as written (PostgreSQL `json`, not `jsonb`): audit details are hashed."""


class UtcDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and read back aware, in Vietnam time (+07:00).

    SQLite has no time zone type: the UTC wall time is stored as text, which
    also sorts chronologically. Naive datetimes are refused: a time without a
    zone is ambiguous in a record that must outlive its server.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the catalog stores aware times only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        moment: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(VN_TZ)


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A VARCHAR with a CHECK constraint on the enum's values (no native PostgreSQL ENUM to migrate)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )
