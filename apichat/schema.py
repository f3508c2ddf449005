"""The store's schema, as ordered lists of migrations: MIGRATIONS for SQLite (PRAGMA user_version counts
them), PG_MIGRATIONS for PostgreSQL (the table schema_version counts them). A change of schema is a new
entry at the end of both."""

MIGRATIONS = [
    # 1: everything the console keeps
    """
    CREATE TABLE profiles (
        name TEXT PRIMARY KEY,
        base_url TEXT NOT NULL DEFAULT '',
        partner_key TEXT NOT NULL DEFAULT '',
        workspace_id TEXT NOT NULL DEFAULT '',
        flow_key TEXT NOT NULL DEFAULT '',
        verify_key TEXT NOT NULL DEFAULT '',
        bot_url TEXT NOT NULL DEFAULT '',
        webhook_url TEXT NOT NULL DEFAULT '',
        webhook_status TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        profile TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        conv_id INTEGER NOT NULL,
        created_at REAL NOT NULL,
        last_read_id INTEGER NOT NULL DEFAULT 0,
        UNIQUE (profile, contact_id, conv_id)
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation INTEGER NOT NULL REFERENCES conversations(id),
        direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
        author TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL DEFAULT '{}',
        raw TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        error TEXT NOT NULL DEFAULT '',
        reply_to INTEGER,
        delivery INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation, id);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        received_at REAL NOT NULL,
        profile TEXT NOT NULL DEFAULT '',
        route TEXT NOT NULL DEFAULT '',
        method TEXT NOT NULL DEFAULT '',
        remote_addr TEXT NOT NULL DEFAULT '',
        headers TEXT NOT NULL DEFAULT '{}',
        body BLOB,
        body_size INTEGER NOT NULL DEFAULT 0,
        body_sha256 TEXT NOT NULL DEFAULT '',
        outcome TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        flow_ns TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT '',
        message_id INTEGER
    );
    CREATE INDEX deliveries_by_hash ON deliveries (body_sha256, received_at);
    CREATE INDEX deliveries_by_profile ON deliveries (profile, id);
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        created_at REAL NOT NULL,
        profile TEXT NOT NULL DEFAULT '',
        target TEXT NOT NULL DEFAULT '',
        method TEXT NOT NULL,
        url TEXT NOT NULL,
        request_headers TEXT NOT NULL DEFAULT '{}',
        request_body TEXT NOT NULL DEFAULT '',
        status INTEGER,
        response_body TEXT NOT NULL DEFAULT '',
        duration_ms REAL,
        error TEXT NOT NULL DEFAULT '',
        message_id INTEGER
    );
    CREATE INDEX requests_by_profile ON requests (profile, id);
    """,
    # 2: scenario runs and the result of each step
    """
    CREATE TABLE scenario_runs (
        id INTEGER PRIMARY KEY,
        batch TEXT NOT NULL DEFAULT '',
        scenario TEXT NOT NULL,
        path TEXT NOT NULL DEFAULT '',
        profile TEXT NOT NULL DEFAULT '',
        contact_id TEXT NOT NULL DEFAULT '',
        conversation INTEGER,
        status TEXT NOT NULL,
        error TEXT NOT NULL DEFAULT '',
        started_at REAL NOT NULL,
        finished_at REAL,
        total_steps INTEGER NOT NULL DEFAULT 0,
        passed_steps INTEGER NOT NULL DEFAULT 0,
        failed_steps INTEGER NOT NULL DEFAULT 0,
        first_p50_ms REAL,
        first_p95_ms REAL,
        settle_p50_ms REAL,
        settle_p95_ms REAL,
        source TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX scenario_runs_by_batch ON scenario_runs (batch, id);
    CREATE TABLE scenario_results (
        id INTEGER PRIMARY KEY,
        run INTEGER NOT NULL REFERENCES scenario_runs(id),
        position INTEGER NOT NULL,
        line INTEGER NOT NULL DEFAULT 0,
        label TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        first_reply_ms REAL,
        settle_ms REAL,
        replies INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    CREATE INDEX scenario_results_by_run ON scenario_results (run, position);
    """,
    # 3: the last message of a direction without walking the conversation (reply_to of every
    # webhook, unread counts, duplicate checks): O(log n) in a 5,000-message conversation
    """
    CREATE INDEX messages_by_direction ON messages (conversation, direction, id);
    """,
    # 4: "was anything refused since I sent?" — the chat asks it while it waits for a reply
    """
    CREATE INDEX deliveries_by_profile_time ON deliveries (profile, received_at);
    """,
    # 5: a version of the profiles and the default profile, bumped by the database itself whenever either
    # changes (from any process), so the receiver answers webhooks from a cached copy of the profiles and
    # re-reads them only when this number moved
    """
    CREATE TABLE profile_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
    INSERT INTO profile_version (id, version) VALUES (1, 1);
    CREATE TRIGGER profiles_inserted AFTER INSERT ON profiles
        BEGIN UPDATE profile_version SET version = version + 1; END;
    CREATE TRIGGER profiles_updated AFTER UPDATE ON profiles
        BEGIN UPDATE profile_version SET version = version + 1; END;
    CREATE TRIGGER profiles_deleted AFTER DELETE ON profiles
        BEGIN UPDATE profile_version SET version = version + 1; END;
    CREATE TRIGGER default_profile_inserted AFTER INSERT ON settings WHEN NEW.key = 'default_profile'
        BEGIN UPDATE profile_version SET version = version + 1; END;
    CREATE TRIGGER default_profile_updated AFTER UPDATE ON settings
        WHEN NEW.key = 'default_profile' OR OLD.key = 'default_profile'
        BEGIN UPDATE profile_version SET version = version + 1; END;
    CREATE TRIGGER default_profile_deleted AFTER DELETE ON settings WHEN OLD.key = 'default_profile'
        BEGIN UPDATE profile_version SET version = version + 1; END;
    """,
    # 6: which channels' limits the lint checks this profile's bot messages against (apichat/lint.py)
    """
    ALTER TABLE profiles ADD COLUMN lint_channels TEXT NOT NULL DEFAULT 'messenger,whatsapp';
    """,
    # 7: a judge's verdicts (apichat/ai/judge.py), keyed by a hash of model, criterion and reply text, so a
    # re-run of unchanged replies asks the model nothing
    """
    CREATE TABLE judge_verdicts (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        criterion TEXT NOT NULL,
        reply TEXT NOT NULL,
        passed INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    """,
    # 8: monitors (apichat/monitor): who runs a monitor now (a lease that expires, so a killed process lets go),
    # each scheduled run, and each alert sent (or not) to each target
    """
    CREATE TABLE monitor_leases (
        monitor TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE monitor_runs (
        id INTEGER PRIMARY KEY,
        monitor TEXT NOT NULL,
        holder TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        batch TEXT NOT NULL DEFAULT '',
        problem TEXT NOT NULL DEFAULT '',
        first_p50_ms REAL,
        first_p95_ms REAL,
        scenario_run INTEGER,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX monitor_runs_by_monitor ON monitor_runs (monitor, id);
    CREATE TABLE monitor_alerts (
        id INTEGER PRIMARY KEY,
        monitor TEXT NOT NULL,
        run INTEGER,
        kind TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE INDEX monitor_alerts_by_monitor ON monitor_alerts (monitor, id);
    """,
    # 9: a simulated contact's LLM answers (apichat/simulate/simulator.py), keyed by a hash of model, seed and the
    # exact messages asked, so a re-run of an unchanged bot replays exactly and asks nothing
    """
    CREATE TABLE simulator_answers (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        answer TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 10: retention (store/retention.py): a conversation pruned takes the requests that sent its messages
    """
    CREATE INDEX requests_by_message ON requests (message_id);
    """,
    # 11: the Inspector's text search without a scan (store/sqlite.py: search): FTS5 tables with the trigram
    # tokenizer, which serve any substring of 3 characters or more, in any case. A row's index entry has the
    # rowid -id: FTS5 reads a term's rows fast in ascending rowid order only, and the Inspector wants the newest
    # first (ORDER BY rowid DESC read every match: 1 s for a common word in 100,000). Rows are indexed in id order by
    # the store's background indexer (`index_search`, a short transaction at a time, so a webhook never pays for
    # it) and the few not indexed yet are scanned; a row deleted takes its index entry with it (the triggers).
    # Each table keeps its own copy of the text it indexes (a contentless one cannot forget a row on SQLite
    # 3.40, and an external-content one would be corrupted by forgetting a row it never indexed).
    """
    -- note: building the Inspector's search index
    CREATE VIRTUAL TABLE deliveries_search USING fts5(body, reason, route, headers, tokenize = 'trigram');
    CREATE VIRTUAL TABLE requests_search USING fts5(url, request_body, response_body, error, tokenize = 'trigram');
    CREATE TRIGGER deliveries_unsearched AFTER DELETE ON deliveries
        BEGIN DELETE FROM deliveries_search WHERE rowid = -old.id; END;
    CREATE TRIGGER requests_unsearched AFTER DELETE ON requests
        BEGIN DELETE FROM requests_search WHERE rowid = -old.id; END;
    CREATE TRIGGER deliveries_researched AFTER UPDATE OF body, reason, route, headers ON deliveries
        WHEN EXISTS (SELECT 1 FROM deliveries_search WHERE rowid = -old.id)
        BEGIN
            DELETE FROM deliveries_search WHERE rowid = -old.id;
            INSERT INTO deliveries_search (rowid, body, reason, route, headers)
                VALUES (-new.id, CAST(new.body AS TEXT), new.reason, new.route, new.headers);
        END;
    CREATE TRIGGER requests_researched AFTER UPDATE OF url, request_body, response_body, error ON requests
        WHEN EXISTS (SELECT 1 FROM requests_search WHERE rowid = -old.id)
        BEGIN
            DELETE FROM requests_search WHERE rowid = -old.id;
            INSERT INTO requests_search (rowid, url, request_body, response_body, error)
                VALUES (-new.id, new.url, new.request_body, new.response_body, new.error);
        END;
    INSERT INTO deliveries_search (rowid, body, reason, route, headers)
        SELECT -id, CAST(body AS TEXT), reason, route, headers FROM deliveries ORDER BY id;
    INSERT INTO requests_search (rowid, url, request_body, response_body, error)
        SELECT -id, url, request_body, response_body, error FROM requests ORDER BY id;
    """,
]


# PostgreSQL (team mode): the same tables, columns and indexes as SQLite's five migrations above, in
# PostgreSQL's types. Ids are identities, so rows written without one (requests, refused deliveries, a
# contact's messages) take the next; the store takes ids for a batch of webhooks from the same sequences.
# Every write transaction holds one advisory lock (postgres.py), as SQLite's BEGIN IMMEDIATE holds its
# write lock: ids are committed in order (a poll for "id > N" misses nothing) and the duplicate window
# holds across receivers on several hosts.
PG_MIGRATIONS = [
    # 1: everything the console keeps, as of SQLite's migration 5
    """
    CREATE TABLE profiles (
        name TEXT PRIMARY KEY,
        base_url TEXT NOT NULL DEFAULT '',
        partner_key TEXT NOT NULL DEFAULT '',
        workspace_id TEXT NOT NULL DEFAULT '',
        flow_key TEXT NOT NULL DEFAULT '',
        verify_key TEXT NOT NULL DEFAULT '',
        bot_url TEXT NOT NULL DEFAULT '',
        webhook_url TEXT NOT NULL DEFAULT '',
        webhook_status TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE conversations (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        profile TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        conv_id BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        last_read_id BIGINT NOT NULL DEFAULT 0,
        UNIQUE (profile, contact_id, conv_id)
    );
    CREATE TABLE messages (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        conversation BIGINT NOT NULL REFERENCES conversations(id),
        direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
        author TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL DEFAULT '{}',
        raw TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        error TEXT NOT NULL DEFAULT '',
        reply_to BIGINT,
        delivery BIGINT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation, id);
    CREATE INDEX messages_by_direction ON messages (conversation, direction, id);
    CREATE TABLE deliveries (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        received_at DOUBLE PRECISION NOT NULL,
        profile TEXT NOT NULL DEFAULT '',
        route TEXT NOT NULL DEFAULT '',
        method TEXT NOT NULL DEFAULT '',
        remote_addr TEXT NOT NULL DEFAULT '',
        headers TEXT NOT NULL DEFAULT '{}',
        body BYTEA,
        body_size BIGINT NOT NULL DEFAULT 0,
        body_sha256 TEXT NOT NULL DEFAULT '',
        outcome TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        flow_ns TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT '',
        message_id BIGINT
    );
    CREATE INDEX deliveries_by_hash ON deliveries (body_sha256, received_at);
    CREATE INDEX deliveries_by_profile ON deliveries (profile, id);
    CREATE INDEX deliveries_by_profile_time ON deliveries (profile, received_at);
    CREATE TABLE requests (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        created_at DOUBLE PRECISION NOT NULL,
        profile TEXT NOT NULL DEFAULT '',
        target TEXT NOT NULL DEFAULT '',
        method TEXT NOT NULL,
        url TEXT NOT NULL,
        request_headers TEXT NOT NULL DEFAULT '{}',
        request_body TEXT NOT NULL DEFAULT '',
        status INTEGER,
        response_body TEXT NOT NULL DEFAULT '',
        duration_ms DOUBLE PRECISION,
        error TEXT NOT NULL DEFAULT '',
        message_id BIGINT
    );
    CREATE INDEX requests_by_profile ON requests (profile, id);
    CREATE TABLE scenario_runs (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        batch TEXT NOT NULL DEFAULT '',
        scenario TEXT NOT NULL,
        path TEXT NOT NULL DEFAULT '',
        profile TEXT NOT NULL DEFAULT '',
        contact_id TEXT NOT NULL DEFAULT '',
        conversation BIGINT,
        status TEXT NOT NULL,
        error TEXT NOT NULL DEFAULT '',
        started_at DOUBLE PRECISION NOT NULL,
        finished_at DOUBLE PRECISION,
        total_steps INTEGER NOT NULL DEFAULT 0,
        passed_steps INTEGER NOT NULL DEFAULT 0,
        failed_steps INTEGER NOT NULL DEFAULT 0,
        first_p50_ms DOUBLE PRECISION,
        first_p95_ms DOUBLE PRECISION,
        settle_p50_ms DOUBLE PRECISION,
        settle_p95_ms DOUBLE PRECISION,
        source TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX scenario_runs_by_batch ON scenario_runs (batch, id);
    CREATE TABLE scenario_results (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        run BIGINT NOT NULL REFERENCES scenario_runs(id),
        position INTEGER NOT NULL,
        line INTEGER NOT NULL DEFAULT 0,
        label TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        first_reply_ms DOUBLE PRECISION,
        settle_ms DOUBLE PRECISION,
        replies INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '{}',
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX scenario_results_by_run ON scenario_results (run, position);
    CREATE TABLE profile_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
    INSERT INTO profile_version (id, version) VALUES (1, 1);
    CREATE FUNCTION apichat_bump_profile_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE profile_version SET version = version + 1;
        RETURN NULL;
    END $$;
    CREATE TRIGGER profiles_changed AFTER INSERT OR UPDATE OR DELETE ON profiles
        FOR EACH ROW EXECUTE FUNCTION apichat_bump_profile_version();
    CREATE TRIGGER default_profile_inserted AFTER INSERT ON settings FOR EACH ROW
        WHEN (NEW.key = 'default_profile') EXECUTE FUNCTION apichat_bump_profile_version();
    CREATE TRIGGER default_profile_updated AFTER UPDATE ON settings FOR EACH ROW
        WHEN (NEW.key = 'default_profile' OR OLD.key = 'default_profile')
        EXECUTE FUNCTION apichat_bump_profile_version();
    CREATE TRIGGER default_profile_deleted AFTER DELETE ON settings FOR EACH ROW
        WHEN (OLD.key = 'default_profile') EXECUTE FUNCTION apichat_bump_profile_version();
    """,
    # 2: "something changed in conversation N" and "a delivery arrived for profile P", pushed by the database
    # itself on commit (whichever receiver or console wrote it), so a reader waits instead of polling
    """
    CREATE FUNCTION apichat_notify_message() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('apichat_messages', NEW.conversation::text);
        RETURN NULL;
    END $$;
    CREATE TRIGGER messages_notify AFTER INSERT OR UPDATE ON messages
        FOR EACH ROW EXECUTE FUNCTION apichat_notify_message();
    CREATE FUNCTION apichat_notify_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('apichat_deliveries', NEW.profile);
        RETURN NULL;
    END $$;
    CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
        FOR EACH ROW EXECUTE FUNCTION apichat_notify_delivery();
    """,
    # 3: SQLite's migration 6: which channels' limits the lint checks this profile's bot messages against
    """
    ALTER TABLE profiles ADD COLUMN lint_channels TEXT NOT NULL DEFAULT 'messenger,whatsapp';
    """,
    # 4: SQLite's migration 7: a judge's verdicts
    """
    CREATE TABLE judge_verdicts (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        criterion TEXT NOT NULL,
        reply TEXT NOT NULL,
        passed INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL
    );
    """,
    # 5: SQLite's migration 8: monitors (apichat/monitor): who runs a monitor now (a lease that expires, so a killed process lets go),
    # each scheduled run, and each alert sent (or not) to each target
    """
    CREATE TABLE monitor_leases (
        monitor TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE monitor_runs (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        monitor TEXT NOT NULL,
        holder TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        finished_at DOUBLE PRECISION,
        batch TEXT NOT NULL DEFAULT '',
        problem TEXT NOT NULL DEFAULT '',
        first_p50_ms DOUBLE PRECISION,
        first_p95_ms DOUBLE PRECISION,
        scenario_run BIGINT,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX monitor_runs_by_monitor ON monitor_runs (monitor, id);
    CREATE TABLE monitor_alerts (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        monitor TEXT NOT NULL,
        run BIGINT,
        kind TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX monitor_alerts_by_monitor ON monitor_alerts (monitor, id);
    """,
    # 6: SQLite's migration 9: a simulated contact's LLM answers
    """
    CREATE TABLE simulator_answers (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        answer TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    """,
    # 7: SQLite's migration 10: the requests of a message, found when its conversation is pruned
    """
    CREATE INDEX requests_by_message ON requests (message_id);
    """,
    # 8: SQLite's migration 11, the Inspector's text search without a scan: trigram GIN indexes on exactly the
    # expressions the search's ILIKE '%text%' reads (postgres.py DIALECT), kept in step by PostgreSQL itself
    # (pg_trgm is a trusted extension: a database owner may create it). Terms under 3 characters still scan.
    """
    -- note: building the Inspector's search index
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX deliveries_search_body ON deliveries USING gin (encode(body, 'escape') gin_trgm_ops);
    CREATE INDEX deliveries_search_reason ON deliveries USING gin (reason gin_trgm_ops);
    CREATE INDEX deliveries_search_route ON deliveries USING gin (route gin_trgm_ops);
    CREATE INDEX deliveries_search_headers ON deliveries USING gin (headers gin_trgm_ops);
    CREATE INDEX requests_search_url ON requests USING gin (url gin_trgm_ops);
    CREATE INDEX requests_search_request_body ON requests USING gin (request_body gin_trgm_ops);
    CREATE INDEX requests_search_response_body ON requests USING gin (response_body gin_trgm_ops);
    CREATE INDEX requests_search_error ON requests USING gin (error gin_trgm_ops);
    """,
]
