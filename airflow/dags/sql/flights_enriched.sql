-- Flights with the airline's name, the plane, and the weather at the origin in the scheduled hour.
CREATE OR REPLACE TRANSIENT TABLE {{ this }} AS
WITH weather AS (
    SELECT
        origin,
        TO_TIMESTAMP_NTZ(REPLACE(time_hour, 'Z', '')) AS time_hour_utc,
        temp AS temp_f,
        wind_speed AS wind_speed_mph,
        precip AS precip_in,
        visib AS visibility_mi
    FROM {{ source('weather') }}
)
SELECT
    f.flight_id,
    f.flight_date,
    f.carrier,
    al.name AS airline_name,
    f.flight_number,
    f.origin,
    ap.name AS origin_name,
    f.dest,
    f.dep_delay,
    f.arr_delay,
    f.cancelled,
    f.tailnum,
    p.manufacturer AS plane_manufacturer,
    p.model AS plane_model,
    p.year AS plane_year,
    p.seats AS plane_seats,
    w.temp_f AS origin_temp_f,
    w.wind_speed_mph AS origin_wind_speed_mph,
    w.precip_in AS origin_precip_in,
    w.visibility_mi AS origin_visibility_mi
FROM {{ ref('flights') }} AS f
LEFT JOIN {{ source('airlines') }} AS al ON al.carrier = f.carrier
LEFT JOIN {{ source('airports') }} AS ap ON ap.faa = f.origin
LEFT JOIN {{ source('planes') }} AS p ON p.tailnum = f.tailnum
LEFT JOIN weather AS w ON w.origin = f.origin AND w.time_hour_utc = f.time_hour_utc
