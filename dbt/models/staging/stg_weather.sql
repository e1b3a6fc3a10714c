-- Hourly weather at each origin airport, keyed by the hour in UTC as flights are.
select
    origin,
    to_timestamp_ntz(replace(time_hour, 'Z', '')) as time_hour_utc,
    temp as temp_f,
    wind_speed as wind_speed_mph,
    precip as precip_in,
    visib as visibility_mi
from {{ source('raw', 'weather') }}
