-- Flights with the airline's name, the plane, and the weather at the origin in the scheduled hour.
select
    f.flight_id,
    f.flight_date,
    f.carrier,
    al.name as airline_name,
    f.flight_number,
    f.origin,
    ap.name as origin_name,
    f.dest,
    f.dep_delay,
    f.arr_delay,
    f.cancelled,
    f.tailnum,
    p.manufacturer as plane_manufacturer,
    p.model as plane_model,
    p.year as plane_year,
    p.seats as plane_seats,
    w.temp_f as origin_temp_f,
    w.wind_speed_mph as origin_wind_speed_mph,
    w.precip_in as origin_precip_in,
    w.visibility_mi as origin_visibility_mi
from {{ ref('flights') }} as f
left join {{ ref('stg_airlines') }} as al on al.carrier = f.carrier
left join {{ ref('stg_airports') }} as ap on ap.faa = f.origin
left join {{ ref('stg_planes') }} as p on p.tailnum = f.tailnum
left join {{ ref('stg_weather') }} as w
    on w.origin = f.origin and w.time_hour_utc = f.time_hour_utc
