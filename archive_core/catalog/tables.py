"""Import every module that defines catalog tables, so `Base.metadata` is complete.

Alembic's autogenerate comparison and tests that check migrations against the
models need all tables registered, wherever they are defined.
"""

from __future__ import annotations

import archive_core.accounts
import archive_core.catalog.retention_models  # noqa: F401
import preservation.destruction.models  # noqa: F401
from archive_core.catalog.models import Base

metadata = Base.metadata
