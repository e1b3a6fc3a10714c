-- Typed flights from the raw VARIANT rows: one row per scheduled flight, with a stable key, and
-- when its file was loaded (the incremental flights mart picks up rows loaded since its last run).
with typed as (
    select
        date_from_parts(src:year::integer, src:month::integer, src:day::integer) as flight_date,
        src:carrier::varchar as carrier,
        src:flight::integer as flight_number,
        src:tailnum::varchar as tailnum,
        src:origin::varchar as origin,
        src:dest::varchar as dest,
        src:sched_dep_time::integer as sched_dep_time,
        src:dep_time::integer as dep_time,
        src:dep_delay::number(10, 0) as dep_delay,
        src:sched_arr_time::integer as sched_arr_time,
        src:arr_time::integer as arr_time,
        src:arr_delay::number(10, 0) as arr_delay,
        src:air_time::number(10, 0) as air_time,
        src:distance::integer as distance,
        src:hour::integer as sched_dep_hour,
        src:minute::integer as sched_dep_minute,
        -- time_hour is the scheduled hour in UTC, written as ISO-8601 with a Z suffix.
        to_timestamp_ntz(replace(src:time_hour::varchar, 'Z', '')) as time_hour_utc,
        _loaded_at
    from {{ source('raw', 'flights') }}
)

select
    carrier || '-' || flight_number || '-' || origin || '-' || to_varchar(flight_date)
        || '-' || sched_dep_time as flight_id,
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
    dep_time is null as cancelled,
    _loaded_at
from typed
