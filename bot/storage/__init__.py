"""SQLite persistence: the only package that contains SQL."""

from bot.storage.accounts import AccountStateStore, StoredAccountState
from bot.storage.database import Database
from bot.storage.jobs import JobStore, StoredJob
from bot.storage.usage import UsageLedger

__all__ = ["AccountStateStore", "Database", "JobStore", "StoredAccountState", "StoredJob", "UsageLedger"]
