"""Numbered PostgreSQL schema migrations, applied in order and recorded in ``schema_migrations``.

Append a new entry to change the schema; never edit one that has shipped. The runner holds an advisory lock,
so replicas starting together apply each migration once.
"""

from __future__ import annotations

from typing import LiteralString

MIGRATIONS: tuple[LiteralString, ...] = (
    # 1: the SQLite schema's equivalent, plus the per-user admission as one server-side call
    """
    CREATE TABLE usage_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_key TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        day TEXT NOT NULL
    );
    CREATE INDEX usage_events_user_time ON usage_events (user_key, created_at);
    CREATE INDEX usage_events_user_day ON usage_events (user_key, day);

    CREATE TABLE account_state (
        account_key TEXT PRIMARY KEY,
        spent_until DOUBLE PRECISION,
        updated_at DOUBLE PRECISION NOT NULL
    );

    CREATE TABLE account_usage (
        account_key TEXT NOT NULL,
        day TEXT NOT NULL,
        images BIGINT NOT NULL DEFAULT 0,
        neurons DOUBLE PRECISION NOT NULL DEFAULT 0,
        calls BIGINT NOT NULL DEFAULT 0,
        failures BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (account_key, day)
    );

    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        user_key TEXT NOT NULL,
        chat_id TEXT,
        original_prompt TEXT NOT NULL,
        final_prompt TEXT NOT NULL,
        is_json BOOLEAN NOT NULL,
        negative TEXT,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        steps INTEGER,
        model TEXT NOT NULL,
        seed BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX jobs_created_at ON jobs (created_at);
    CREATE TABLE job_references (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (job_id, position)
    );

    -- Check-and-record for one user, exact across every replica: p_count events, all or none. Under READ
    -- COMMITTED two plain INSERT ... SELECT ... WHERE count < limit statements can both miss each other's
    -- uncommitted rows; a transaction-scoped advisory lock per user serialises one user's admissions (other
    -- users never wait), and each statement in a VOLATILE plpgsql function takes a fresh snapshot after the
    -- lock is granted, so it sees every admission committed before. One round trip, no retry loop
    -- (bench/limiter_pg.py measures the alternatives). Returns the new ids, or NULL when refused.
    CREATE FUNCTION try_consume_usage(
        p_user TEXT, p_now DOUBLE PRECISION, p_day TEXT, p_per_minute BIGINT, p_per_day BIGINT, p_count INTEGER
    ) RETURNS BIGINT[] LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        new_ids BIGINT[];
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('usage:' || p_user, 0));
        IF p_per_minute IS NOT NULL AND (
            SELECT count(*) FROM usage_events WHERE user_key = p_user AND created_at > p_now - 60
        ) + p_count > p_per_minute THEN
            RETURN NULL;
        END IF;
        IF p_per_day IS NOT NULL AND (
            SELECT count(*) FROM usage_events WHERE user_key = p_user AND day = p_day
        ) + p_count > p_per_day THEN
            RETURN NULL;
        END IF;
        WITH added AS (
            INSERT INTO usage_events (user_key, created_at, day)
            SELECT p_user, p_now, p_day FROM generate_series(1, p_count)
            RETURNING id
        )
        SELECT array_agg(id ORDER BY id) INTO new_ids FROM added;
        RETURN new_ids;
    END
    $$;
    """,
    # 2: finished images served by GET /image/{id} for IMAGE_EXPIRATION seconds (the HTTP side)
    """
    CREATE TABLE images (
        id TEXT PRIMARY KEY,
        job_id TEXT,
        mime TEXT NOT NULL,
        size BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        data BYTEA NOT NULL
    );
    CREATE INDEX images_created ON images (created_at);
    CREATE INDEX images_expires ON images (expires_at);
    """,
    # 3: cooldowns, misconfiguration and probe claims are shared by the replicas (LISTEN/NOTIFY on top)
    """
    ALTER TABLE account_state
        ADD COLUMN cooling_until DOUBLE PRECISION,
        ADD COLUMN misconfigured TEXT,
        ADD COLUMN recheck_at DOUBLE PRECISION,
        ADD COLUMN probe_until DOUBLE PRECISION;
    """,
    # 4: "the last minute" is (now - 60 s, now + 60 s]: events stamped more than a minute ahead (the clock was
    # stepped back since) no longer count as recent for as long as the step; the slack keeps counting the events
    # of a replica whose clock is slightly ahead, so limits stay exact across replicas
    """
    CREATE OR REPLACE FUNCTION try_consume_usage(
        p_user TEXT, p_now DOUBLE PRECISION, p_day TEXT, p_per_minute BIGINT, p_per_day BIGINT, p_count INTEGER
    ) RETURNS BIGINT[] LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        new_ids BIGINT[];
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('usage:' || p_user, 0));
        IF p_per_minute IS NOT NULL AND (
            SELECT count(*) FROM usage_events
            WHERE user_key = p_user AND created_at > p_now - 60 AND created_at <= p_now + 60
        ) + p_count > p_per_minute THEN
            RETURN NULL;
        END IF;
        IF p_per_day IS NOT NULL AND (
            SELECT count(*) FROM usage_events WHERE user_key = p_user AND day = p_day
        ) + p_count > p_per_day THEN
            RETURN NULL;
        END IF;
        WITH added AS (
            INSERT INTO usage_events (user_key, created_at, day)
            SELECT p_user, p_now, p_day FROM generate_series(1, p_count)
            RETURNING id
        )
        SELECT array_agg(id ORDER BY id) INTO new_ids FROM added;
        RETURN new_ids;
    END
    $$;
    """,
    # 5: the web page's history: a user's latest jobs, and the kept image of each (bench/web_history.py)
    """
    CREATE INDEX jobs_user_created ON jobs (user_key, created_at);
    CREATE INDEX images_job ON images (job_id);
    """,
    # 6: requests the user saw acknowledged, until they end: the row is the lease (bot.core.requests). Open
    # rows are looked up per user (the per-user cap), by lapsed lease (the takeover sweep) and by replica (renewal).
    """
    CREATE TABLE accepted_requests (
        id TEXT PRIMARY KEY,
        user_key TEXT NOT NULL,
        platform TEXT NOT NULL,
        replica TEXT NOT NULL,
        state TEXT NOT NULL,
        accepted_at DOUBLE PRECISION NOT NULL,
        lease_until DOUBLE PRECISION NOT NULL,
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
    # 7: album items from every replica, until one replica claims the album (its photos may land anywhere)
    """
    CREATE TABLE album_items (
        chat_id TEXT NOT NULL,
        album_id TEXT NOT NULL,
        item_id BIGINT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (chat_id, album_id, item_id)
    );
    CREATE INDEX album_items_received ON album_items (received_at);
    CREATE TABLE album_claims (
        chat_id TEXT NOT NULL,
        album_id TEXT NOT NULL,
        claimed_by TEXT NOT NULL,
        claimed_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (chat_id, album_id)
    );
    CREATE INDEX album_claims_claimed ON album_claims (claimed_at);
    """,
    # 8: each user's line on accepted_requests (bot.storage.postgres.lines): the cap checked with the insert, and
    # the start of a waiting request, each one call under the user's advisory lock, held only inside the server.
    # Each statement after the lock takes a fresh snapshot (READ COMMITTED, VOLATILE), so it sees every request
    # registered, started or ended before the lock was granted.
    """
    CREATE FUNCTION line_register(
        p_id TEXT, p_user TEXT, p_platform TEXT, p_replica TEXT, p_state TEXT, p_accepted_at DOUBLE PRECISION,
        p_lease_until DOUBLE PRECISION, p_attempts INTEGER, p_usage_ids TEXT, p_payload TEXT, p_cap INTEGER
    ) RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        open_now BIGINT;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('lines:' || p_user, 0));
        IF EXISTS (SELECT 1 FROM accepted_requests WHERE id = p_id) THEN
            RETURN NULL;  -- taken over from a replica that died: it keeps its row and its place
        END IF;
        SELECT count(*) INTO open_now FROM accepted_requests
        WHERE user_key = p_user AND state IN ('waiting', 'running');
        IF open_now >= p_cap THEN
            RETURN open_now;
        END IF;
        INSERT INTO accepted_requests
            (id, user_key, platform, replica, state, accepted_at, lease_until, attempts, usage_ids, payload)
        VALUES (p_id, p_user, p_platform, p_replica, p_state, p_accepted_at, p_lease_until, p_attempts,
                p_usage_ids, p_payload);
        RETURN NULL;
    END
    $$;

    CREATE FUNCTION line_try_start(
        p_id TEXT, p_user TEXT, p_cap INTEGER,
        OUT o_running BIGINT, OUT o_ahead BIGINT, OUT o_state TEXT, OUT o_started BOOLEAN
    ) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        my_at DOUBLE PRECISION;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('lines:' || p_user, 0));
        o_started := false;
        o_ahead := 0;
        SELECT r.state, r.accepted_at INTO o_state, my_at FROM accepted_requests AS r
        WHERE r.id = p_id AND r.state IN ('waiting', 'running');
        SELECT count(*) INTO o_running FROM accepted_requests AS r
        WHERE r.user_key = p_user AND r.state = 'running';
        IF o_state IS DISTINCT FROM 'waiting' THEN
            RETURN;  -- running already, or not in line at all
        END IF;
        -- first come, first served: the user's waiting requests accepted earlier (the id breaks ties)
        SELECT count(*) INTO o_ahead FROM accepted_requests AS r
        WHERE r.user_key = p_user AND r.state = 'waiting' AND (r.accepted_at, r.id) < (my_at, p_id);
        IF o_running + o_ahead < p_cap THEN
            UPDATE accepted_requests SET state = 'running' WHERE id = p_id;
            o_started := true;
        END IF;
    END
    $$;
    """,
    # 9: line_register tells an id already in the table (-1) from a registration (NULL): a chat update delivered
    # twice registers its (deterministic) request id twice, and the repeat must be dropped before any charge.
    """
    CREATE OR REPLACE FUNCTION line_register(
        p_id TEXT, p_user TEXT, p_platform TEXT, p_replica TEXT, p_state TEXT, p_accepted_at DOUBLE PRECISION,
        p_lease_until DOUBLE PRECISION, p_attempts INTEGER, p_usage_ids TEXT, p_payload TEXT, p_cap INTEGER
    ) RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        open_now BIGINT;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('lines:' || p_user, 0));
        IF EXISTS (SELECT 1 FROM accepted_requests WHERE id = p_id) THEN
            RETURN -1;  -- already accepted: the row is the first delivery's
        END IF;
        SELECT count(*) INTO open_now FROM accepted_requests
        WHERE user_key = p_user AND state IN ('waiting', 'running');
        IF open_now >= p_cap THEN
            RETURN open_now;
        END IF;
        INSERT INTO accepted_requests
            (id, user_key, platform, replica, state, accepted_at, lease_until, attempts, usage_ids, payload)
        VALUES (p_id, p_user, p_platform, p_replica, p_state, p_accepted_at, p_lease_until, p_attempts,
                p_usage_ids, p_payload);
        RETURN NULL;
    END
    $$;
    """,
)
