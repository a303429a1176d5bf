"""Row-to-record mapping shared by the SQLite and PostgreSQL stores: one column order, one conversion."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.core.persistence import AcceptedRequest, AlbumClaim, AlbumItem, RequestState, StoredJob

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


#: the columns every accepted-request query selects, in the order ``accepted_from_row`` reads them
ACCEPTED_COLUMNS = (
    "id, user_key, platform, replica, state, accepted_at, lease_until, attempts, usage_ids, payload"
)


def accepted_values(request: AcceptedRequest) -> tuple[Any, ...]:
    """The values of ``ACCEPTED_COLUMNS`` for an insert (JSON for the usage ids and the payload)."""
    return (
        request.id,
        request.user_key,
        request.platform,
        request.replica,
        request.state.value,
        request.accepted_at,
        request.lease_until,
        request.attempts,
        json.dumps(list(request.usage_ids)),
        json.dumps(request.payload, separators=(",", ":")),
    )


def accepted_from_row(row: Sequence[Any]) -> AcceptedRequest:
    return AcceptedRequest(
        id=row[0],
        user_key=row[1],
        platform=row[2],
        replica=row[3],
        state=RequestState(row[4]),
        accepted_at=row[5],
        lease_until=row[6],
        attempts=row[7],
        usage_ids=tuple(int(event) for event in json.loads(row[8])),
        payload=json.loads(row[9]),
    )


#: the columns every album item query selects, in the order ``album_item_from_row`` reads them
ALBUM_ITEM_COLUMNS = "chat_id, album_id, item_id, received_at, payload"


def album_item_values(item: AlbumItem) -> tuple[Any, ...]:
    return (item.chat_id, item.album_id, item.item_id, item.received_at, item.payload)


def album_item_from_row(row: Sequence[Any]) -> AlbumItem:
    return AlbumItem(str(row[0]), str(row[1]), int(row[2]), float(row[3]), str(row[4]))


def refused_claim(items: tuple[AlbumItem, ...], quiet_since: float) -> AlbumClaim | None:
    """Why an unclaimed album's ``items`` cannot be claimed yet (none stored, or one arrived after
    ``quiet_since``); None when the claim may go ahead."""
    if not items:
        return AlbumClaim()
    last = max(item.received_at for item in items)
    return AlbumClaim(last_arrival=last) if last > quiet_since else None
