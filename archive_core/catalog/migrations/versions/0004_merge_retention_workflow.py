"""Merge the retention (0002) and destruction-workflow (0003) branches; link destruction lists to due lists.

Revision ID: 0004_merge
Revises: 0002_retention, 0003_workflow
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004_merge"
down_revision: str | Sequence[str] | None = ("0002_retention", "0003_workflow")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the two branches touch different tables."""


def downgrade() -> None:
    """Nothing to undo."""
