-- Average departure delay (minutes, 2 decimals) by origin airport and quarter.
select
    f.origin,
    d.year,
    d.quarter,
    count(*) as flights,
    count(f.dep_delay) as departed,
    round(avg(f.dep_delay), 2) as avg_dep_delay_minutes
from {{ ref('flights') }} as f
inner join {{ ref('dim_date') }} as d on d.date_day = f.flight_date
group by f.origin, d.year, d.quarter
