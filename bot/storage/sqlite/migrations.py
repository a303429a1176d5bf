"""Numbered schema migrations, applied in order and recorded in ``PRAGMA user_version``.

Append a new entry to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: per-user usage events (limits), account state, per-account daily usage, jobs for re-roll
    """
    CREATE TABLE usage_events (
        id INTEGER PRIMARY KEY,
        user_key TEXT NOT NULL,
        created_at REAL NOT NULL,
        day TEXT NOT NULL
    );
    CREATE INDEX usage_events_user_time ON usage_events (user_key, created_at);
    CREATE INDEX usage_events_user_day ON usage_events (user_key, day);

    CREATE TABLE account_state (
        account_key TEXT PRIMARY KEY,
        spent_until REAL,
        updated_at REAL NOT NULL
    );

    CREATE TABLE account_usage (
        account_key TEXT NOT NULL,
        day TEXT NOT NULL,
        images INTEGER NOT NULL DEFAULT 0,
        neurons REAL NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_key, day)
    );

    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        user_key TEXT NOT NULL,
        chat_id TEXT,
        original_prompt TEXT NOT NULL,
        final_prompt TEXT NOT NULL,
        is_json INTEGER NOT NULL,
        negative TEXT,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        steps INTEGER,
        model TEXT NOT NULL,
        seed INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE job_references (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (job_id, position)
    );
    """,
    # 2: finished images served by GET /image/{id} for IMAGE_EXPIRATION seconds (the HTTP side)
    """
    CREATE TABLE images (
        id TEXT PRIMARY KEY,
        job_id TEXT,
        mime TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX images_created ON images (created_at);
    CREATE INDEX images_expires ON images (expires_at);
    """,
    # 3: the web page's history: a user's latest jobs, and the kept image of each (bench/web_history.py)
    """
    CREATE INDEX jobs_user_created ON jobs (user_key, created_at);
    CREATE INDEX images_job ON images (job_id);
    """,
    # 4: requests the user saw acknowledged, until they end: the row is the lease (bot.core.requests). Open
    # rows are looked up per user (the per-user cap) and by lapsed lease (the takeover sweep).
    """
    CREATE TABLE accepted_requests (
        id TEXT PRIMARY KEY,
        user_key TEXT NOT NULL,
        platform TEXT NOT NULL,
        replica TEXT NOT NULL,
        state TEXT NOT NULL,
        accepted_at REAL NOT NULL,
        lease_until REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 1,
        usage_ids TEXT NOT NULL DEFAULT '[]',
        payload TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX accepted_requests_open_user ON accepted_requests (user_key, accepted_at)
        WHERE state IN ('waiting', 'running', 'delivering');
    CREATE INDEX accepted_requests_open_lease ON accepted_requests (lease_until)
        WHERE state IN ('waiting', 'running', 'delivering');
    CREATE INDEX accepted_requests_open_replica ON accepted_requests (replica)
        WHERE state IN ('waiting', 'running', 'delivering');
    CREATE INDEX accepted_requests_accepted ON accepted_requests (accepted_at);
    """,
    # 5: album items gathered in the database until one process claims the album (the same protocol as PostgreSQL)
    """
    CREATE TABLE album_items (
        chat_id TEXT NOT NULL,
        album_id TEXT NOT NULL,
        item_id INTEGER NOT NULL,
        received_at REAL NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (chat_id, album_id, item_id)
    );
    CREATE INDEX album_items_received ON album_items (received_at);
    CREATE TABLE album_claims (
        chat_id TEXT NOT NULL,
        album_id TEXT NOT NULL,
        claimed_by TEXT NOT NULL,
        claimed_at REAL NOT NULL,
        PRIMARY KEY (chat_id, album_id)
    );
    CREATE INDEX album_claims_claimed ON album_claims (claimed_at);
    """,
)
