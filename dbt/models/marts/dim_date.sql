-- Calendar date dimension: a date spine covering every day from the first to the last flight.
-- Bounds come from the staged raw flights, so that this builds beside the flights table.
with bounds as (
    select min(flight_date) as first_day, max(flight_date) as last_day
    from {{ ref('stg_flights') }}
),

spine as (
    select dateadd(day, seq4(), bounds.first_day)::date as date_day, bounds.last_day
    from table(generator(rowcount => 36600)), bounds
)

select
    date_day,
    year(date_day) as year,
    quarter(date_day) as quarter,
    month(date_day) as month,
    monthname(date_day) as month_name,
    day(date_day) as day_of_month,
    dayofweek(date_day) as day_of_week,
    weekofyear(date_day) as week_of_year,
    dayofweek(date_day) in (0, 6) as is_weekend
from spine
where date_day <= last_day
