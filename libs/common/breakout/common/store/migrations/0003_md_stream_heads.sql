-- The current version of each market-data stream, kept by the writers (under the writer lock).
--
-- Without it, numbering a bulk batch would ask every day partition for max(version) of each
-- of the batch's streams: O(streams x partitions) index probes per batch, growing with
-- retention. It also keeps versions increasing after old partitions are archived and detached
-- (max(version) over what is left would restart a stream at an old number).
CREATE TABLE md_stream_heads (
    stream   text   PRIMARY KEY,
    version  bigint NOT NULL CHECK (version > 0)
);

INSERT INTO md_stream_heads (stream, version)
SELECT stream, max(version) FROM events_md GROUP BY stream;
