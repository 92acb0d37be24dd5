"""The catalog: what the archive holds, where every copy is, and the audit log's table.

SQLAlchemy 2 models (`models`), the `Catalog` (engine, sessions, Alembic
migrations shipped in `migrations/`) and the repository helpers the pipeline
uses (`repo`).
"""

from archive_core.catalog.database import Catalog, CatalogError
from archive_core.catalog.models import (
    AuditRow,
    Base,
    CopyRow,
    CopyState,
    DocumentRow,
    DossierRow,
    DossierState,
    EventRow,
    FileRow,
    FindingRow,
    FondsRow,
    SubmissionRow,
    SubmissionState,
)

__all__ = [
    "AuditRow",
    "Base",
    "Catalog",
    "CatalogError",
    "CopyRow",
    "CopyState",
    "DocumentRow",
    "DossierRow",
    "DossierState",
    "EventRow",
    "FileRow",
    "FindingRow",
    "FondsRow",
    "SubmissionRow",
    "SubmissionState",
]
