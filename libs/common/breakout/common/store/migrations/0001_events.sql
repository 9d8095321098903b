-- The event log: one logical append-only table, partitioned so market data (most of the volume,
-- archived by day) never bloats the indexes of domain events (kept forever).

-- CACHE must stay 1: a per-session cache would hand out positions out of commit order even
-- under the writer lock (see docs/adr/0001-store-ordering.md).
CREATE SEQUENCE events_position_seq AS bigint CACHE 1;

CREATE TABLE events (
    position        bigint      NOT NULL DEFAULT nextval('events_position_seq'),
    stream          text        NOT NULL,
    version         bigint      NOT NULL CHECK (version > 0),
    event_id        uuid        NOT NULL,
    type            text        NOT NULL,
    category        text        NOT NULL,
    data            jsonb       NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    producer        text        NOT NULL,
    causation_id    uuid,
    correlation_id  uuid,
    market_data     boolean     NOT NULL,
    CHECK (market_data = starts_with(stream, 'md.'))
) PARTITION BY LIST (market_data);

ALTER SEQUENCE events_position_seq OWNED BY events.position;

-- Domain events: decisions, orders, positions, operator actions. Kept forever, fully indexed.
CREATE TABLE events_domain PARTITION OF events FOR VALUES IN (false);
ALTER TABLE events_domain ADD CONSTRAINT events_domain_event_id_key UNIQUE (event_id);
ALTER TABLE events_domain ADD CONSTRAINT events_domain_stream_version_key UNIQUE (stream, version);
CREATE UNIQUE INDEX events_domain_position_idx ON events_domain (position);
CREATE INDEX events_domain_category_position_idx ON events_domain (category, position);
CREATE INDEX events_domain_type_position_idx ON events_domain (type, position);

-- Market data: one partition per UTC day of occurred_at, archived to Parquet then detached.
-- Unique indexes on a partitioned table must contain the partition key; md event ids are
-- deterministic from exchange ids, so the same event always carries the same occurred_at.
-- Indexes kept minimal: every index costs write throughput at 2-3k rows/s. The id index leads
-- with occurred_at so inserts land near its right edge instead of at random (ids are uuid5,
-- i.e. random): same uniqueness as (event_id, occurred_at), far fewer cold index pages.
CREATE TABLE events_md PARTITION OF events FOR VALUES IN (true) PARTITION BY RANGE (occurred_at);
CREATE UNIQUE INDEX events_md_event_id_key ON events_md (occurred_at, event_id);
CREATE UNIQUE INDEX events_md_stream_version_key ON events_md (stream, version, occurred_at);
CREATE INDEX events_md_position_idx ON events_md (position);

-- The database itself refuses to rewrite history.
CREATE FUNCTION breakout_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event store is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'events are never changed; append a correcting event instead';
END
$$;

-- Row-level triggers on a partitioned table are cloned to every partition, present and future.
CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION breakout_refuse_change();
-- Statement-level triggers fire only for the table named in the statement, so every table
-- that could be named in a TRUNCATE gets its own.
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION breakout_refuse_change();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events_domain
    FOR EACH STATEMENT EXECUTE FUNCTION breakout_refuse_change();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events_md
    FOR EACH STATEMENT EXECUTE FUNCTION breakout_refuse_change();

-- Create (if missing) the market-data partition of one UTC day; called by migrate ahead of
-- time and by the append path on demand. Concurrent callers may race: the loser gets a
-- duplicate-object error and retries, finding the table.
CREATE FUNCTION breakout_ensure_md_day(day date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    part text := 'events_md_' || to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF events_md FOR VALUES FROM (%L) TO (%L)',
        part, to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00',
        to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
    EXECUTE format(
        'CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION breakout_refuse_change()', part);
END
$$;
