-- One row per scheduled flight. Incremental: a run adds the rows loaded since the last run (their
-- _loaded_at is newer), replacing any flight it already holds; `dbt build --full-refresh` rebuilds
-- it from every raw row, to the same table.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='flight_id',
        on_schema_change='fail',
    )
}}

select
    flight_id,
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
    cancelled,
    _loaded_at
from {{ ref('stg_flights') }}
{% if is_incremental() %}
{{ require_column(this, '_loaded_at', 'flights') }}
where _loaded_at > (select coalesce(max(_loaded_at), '1900-01-01'::timestamp_ltz) from {{ this }})
{% endif %}
