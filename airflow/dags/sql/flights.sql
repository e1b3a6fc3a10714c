-- Typed flights from the raw VARIANT rows: one row per scheduled flight, with a stable key.
CREATE OR REPLACE TRANSIENT TABLE {{ this }} AS
WITH typed AS (
    SELECT
        DATE_FROM_PARTS(src:year::INTEGER, src:month::INTEGER, src:day::INTEGER) AS flight_date,
        src:carrier::VARCHAR AS carrier,
        src:flight::INTEGER AS flight_number,
        src:tailnum::VARCHAR AS tailnum,
        src:origin::VARCHAR AS origin,
        src:dest::VARCHAR AS dest,
        src:sched_dep_time::INTEGER AS sched_dep_time,
        src:dep_time::INTEGER AS dep_time,
        src:dep_delay::NUMBER(10, 0) AS dep_delay,
        src:sched_arr_time::INTEGER AS sched_arr_time,
        src:arr_time::INTEGER AS arr_time,
        src:arr_delay::NUMBER(10, 0) AS arr_delay,
        src:air_time::NUMBER(10, 0) AS air_time,
        src:distance::INTEGER AS distance,
        src:hour::INTEGER AS sched_dep_hour,
        src:minute::INTEGER AS sched_dep_minute,
        -- time_hour is the scheduled hour in UTC, written as ISO-8601 with a Z suffix.
        TO_TIMESTAMP_NTZ(REPLACE(src:time_hour::VARCHAR, 'Z', '')) AS time_hour_utc
    FROM {{ source('flights') }}
)
SELECT
    carrier || '-' || flight_number || '-' || origin || '-' || TO_VARCHAR(flight_date)
        || '-' || sched_dep_time AS flight_id,
    flight_date,
    carrier,
    flight_number,
    tailnum,
    origin,
    dest,
    sched_dep_time,
    dep_time,
    dep_delay,
    sched_arr_time,
    arr_time,
    arr_delay,
    air_time,
    distance,
    sched_dep_hour,
    sched_dep_minute,
    time_hour_utc,
    dep_time IS NULL AS cancelled
FROM typed
