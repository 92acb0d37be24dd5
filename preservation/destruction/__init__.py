"""Destruction of records whose retention has ended (hủy tài liệu hết giá trị, R-DS-1…4).

- `workflow`: the list's state machine, roles and separation of duties, the `Executor` interface.
- `models`: its catalog tables; `errors`: `WorkflowError`; the per-agency rules are settings
  (`archive_core.destruction_policy`).
- `commands`: what the command line prints.
- `execution` and `record` (deleting every copy and key, the destruction record) build on `workflow`.
"""
