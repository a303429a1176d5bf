"""SQL that SQLite and PostgreSQL run unchanged, written once in psycopg's ``%s`` style.

Only what differs between the two (locks, ``SKIP LOCKED``, ``NOTIFY``, JSON functions) stays in each backend's
store. SQLite's stores pass these through ``qmark``; none of them holds a literal ``%``.
"""

from __future__ import annotations

from bot.storage.rows import ACCEPTED_COLUMNS, ALBUM_ITEM_COLUMNS


def qmark(sql: str) -> str:
    """``sql`` with SQLite's ``?`` placeholders instead of psycopg's ``%s``."""
    return sql.replace("%s", "?")


#: an accepted request is open (its user still waits for an answer) in these states
OPEN_REQUEST = "state IN ('waiting', 'running', 'delivering')"

# The line registered the row at admission (bot.core.lines), before the charge and the payload were known.
INSERT_REQUEST = f"""
INSERT INTO accepted_requests ({ACCEPTED_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET replica = excluded.replica, lease_until = excluded.lease_until,
    usage_ids = excluded.usage_ids, payload = excluded.payload
"""
GET_REQUEST = f"SELECT {ACCEPTED_COLUMNS} FROM accepted_requests WHERE id = %s"
#: renewing and releasing are the same statement: the lease of every open request a replica holds, set
SET_LEASES = f"UPDATE accepted_requests SET lease_until = %s WHERE replica = %s AND {OPEN_REQUEST}"
PRUNE_REQUESTS = f"DELETE FROM accepted_requests WHERE accepted_at < %s AND NOT {OPEN_REQUEST}"

ALBUM_CLAIMED = "SELECT 1 FROM album_claims WHERE chat_id = %s AND album_id = %s"
INSERT_ALBUM_ITEM = (
    f"INSERT INTO album_items ({ALBUM_ITEM_COLUMNS}) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
ALBUM_ITEMS = (
    f"SELECT {ALBUM_ITEM_COLUMNS} FROM album_items WHERE chat_id = %s AND album_id = %s ORDER BY item_id"
)
INSERT_ALBUM_CLAIM = (
    "INSERT INTO album_claims (chat_id, album_id, claimed_by, claimed_at) VALUES (%s, %s, %s, %s)"
)
#: albums no one claimed, quiet since the cut-off (the claim itself checks again, atomically)
UNCLAIMED_ALBUMS = """
    SELECT i.chat_id, i.album_id FROM album_items i
    WHERE NOT EXISTS (SELECT 1 FROM album_claims c WHERE c.chat_id = i.chat_id AND c.album_id = i.album_id)
    GROUP BY i.chat_id, i.album_id
    HAVING MAX(i.received_at) <= %s
    ORDER BY MAX(i.received_at)
    LIMIT %s
"""
PRUNE_ALBUM_ITEMS = "DELETE FROM album_items WHERE received_at < %s"
PRUNE_ALBUM_CLAIMS = "DELETE FROM album_claims WHERE claimed_at < %s"
