"""What the search index must do when a dossier is destroyed (R-DS-2: content gone from the index too).

The index itself is built in a later issue; destruction already calls every
registered hook for each dossier it destroys, so whatever index exists then
only has to register one:

```python
class TantivyDeletion:
    def delete_dossier(self, aip_id: str, dossier_code: str | None) -> None:
        ...  # delete every indexed document of the AIP, commit, merge away the deleted segments

register_deletion_hook(TantivyDeletion())
```

A hook must be idempotent (a failed destruction is retried and calls it again,
R-DS-4) and raise when it could not delete: the dossier then stays flagged as
not completely destroyed and the retry calls the hook once more. Deleting must
really drop the text, not only hide it (merge or vacuum the index so that the
deleted documents' terms and stored fields leave the files).
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable


@runtime_checkable
class IndexDeletionHook(Protocol):
    def delete_dossier(self, aip_id: str, dossier_code: str | None) -> None:
        """Remove everything indexed for the AIP `aip_id` (the dossier `dossier_code`); raise on failure."""


_hooks: list[IndexDeletionHook] = []
_lock = threading.Lock()


def register_deletion_hook(hook: IndexDeletionHook) -> None:
    """Add `hook` to those destruction calls (once, however often it is registered)."""
    with _lock:
        if all(existing is not hook for existing in _hooks):
            _hooks.append(hook)


def unregister_deletion_hook(hook: IndexDeletionHook) -> None:
    with _lock:
        _hooks[:] = [existing for existing in _hooks if existing is not hook]


def deletion_hooks() -> tuple[IndexDeletionHook, ...]:
    """The registered hooks, in registration order."""
    with _lock:
        return tuple(_hooks)
