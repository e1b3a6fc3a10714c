-- One row per file per COPY INTO (and one per failed COPY), written by snowflake_raw
-- (`audit_table` in sources.yml).
CREATE TABLE IF NOT EXISTS {{ audit_table }} (
    dag_run_id VARCHAR,
    source VARCHAR,
    file VARCHAR,
    status VARCHAR,
    rows_parsed INTEGER,
    rows_loaded INTEGER,
    errors_seen INTEGER,
    first_error VARCHAR,
    loaded_at TIMESTAMP_NTZ
);
