"""Row-to-record mapping shared by the SQLite and PostgreSQL stores: one column order, one conversion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.persistence import StoredJob

#: the columns every job query selects, in the order ``job_from_row`` reads them
JOB_COLUMNS = (
    "id, user_key, chat_id, original_prompt, final_prompt, is_json, negative, width, height, steps, model, seed, "
    "created_at"
)


def job_from_row(row: Sequence[Any]) -> StoredJob:
    """A job as stored, without its reference images (a separate table)."""
    return StoredJob(
        id=row[0],
        user_key=row[1],
        chat_id=row[2],
        original_prompt=row[3],
        final_prompt=row[4],
        is_json=bool(row[5]),
        negative=row[6],
        width=row[7],
        height=row[8],
        steps=row[9],
        model=row[10],
        seed=row[11],
        created_at=row[12],
    )
