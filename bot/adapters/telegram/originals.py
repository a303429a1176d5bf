"""Originals of recent images, in memory, for the 📄 button: the bytes until sent once, then Telegram's file_id.

Nothing is written to disk or SQLite. After a restart (or once evicted) the handler falls back to the photo
Telegram stored, which is a recompressed copy, and says so.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Original:
    """Either the image bytes (never sent as a file yet) or the document's file_id (already on Telegram)."""

    filename: str
    data: bytes | None = None
    file_id: str | None = None


class OriginalStore:
    """Least-recently-used originals by job id: at most ``budget_bytes`` of image data, ``max_entries`` jobs."""

    def __init__(
        self, budget_bytes: int = DEFAULT_BUDGET_BYTES, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        self._budget = budget_bytes
        self._max_entries = max_entries
        self._entries: OrderedDict[str, Original] = OrderedDict()
        self._bytes = 0

    def keep(self, job_id: str, data: bytes, filename: str) -> None:
        """Remember a freshly sent image's bytes."""
        self._put(job_id, Original(filename, data=data))

    def sent_as(self, job_id: str, file_id: str, filename: str) -> None:
        """The original is on Telegram now: keep only its file_id (a few bytes) and free the image."""
        self._put(job_id, Original(filename, file_id=file_id))

    def get(self, job_id: str) -> Original | None:
        """The original of ``job_id``, if still known."""
        entry = self._entries.get(job_id)
        if entry is not None:
            self._entries.move_to_end(job_id)
        return entry

    @property
    def bytes_held(self) -> int:
        """Image bytes currently held."""
        return self._bytes

    def _put(self, job_id: str, entry: Original) -> None:
        self._drop(job_id)
        self._entries[job_id] = entry
        self._bytes += len(entry.data or b"")
        # The newest entry always stays, even when it alone is over the budget.
        while len(self._entries) > 1 and (
            self._bytes > self._budget or len(self._entries) > self._max_entries
        ):
            self._drop(next(iter(self._entries)))

    def _drop(self, job_id: str) -> None:
        entry = self._entries.pop(job_id, None)
        if entry is not None:
            self._bytes -= len(entry.data or b"")
