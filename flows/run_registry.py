"""What a flow run opened for its tasks to share (its fetch session, its parse pool), found by the run key.

Tasks run in threads of the flow's process and get the key as a parameter, not the object: Prefect would
otherwise try to hash or serialise a live client or process pool as a task input.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class RunRegistry(Generic[T]):
    def __init__(self) -> None:
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def register(self, key: str, item: T) -> None:
        with self._lock:
            self._items[key] = item

    def unregister(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def lookup(self, key: str) -> T | None:
        with self._lock:
            return self._items.get(key)
