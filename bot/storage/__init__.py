"""Persistence backends: the only package that contains SQL. Each implements ``bot.core.persistence``.

``bot.storage.sqlite`` is the embedded default (one process, one file).
"""

from bot.storage.sqlite import (
    SqliteAccountStateStore,
    SqliteDatabase,
    SqliteJobStore,
    SqliteStorage,
    SqliteUsageLedger,
)

__all__ = [
    "SqliteAccountStateStore",
    "SqliteDatabase",
    "SqliteJobStore",
    "SqliteStorage",
    "SqliteUsageLedger",
]
