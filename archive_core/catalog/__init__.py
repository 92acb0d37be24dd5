"""The catalog: what the archive holds, where every copy is, and the audit log's table.

SQLAlchemy 2 models (`models`), the `Catalog` (engine, sessions, Alembic
migrations shipped in `migrations/`) and the repository helpers the pipeline
uses (`repo`).
"""
