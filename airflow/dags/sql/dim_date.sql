-- Calendar date dimension: a date spine covering every day from the first to the last flight.
-- Bounds come from the raw layer so that this builds in parallel with the flights table.
CREATE OR REPLACE TRANSIENT TABLE {{ this }} AS
WITH flight_dates AS (
    SELECT DATE_FROM_PARTS(src:year::INTEGER, src:month::INTEGER, src:day::INTEGER) AS flight_date
    FROM {{ source('flights') }}
),
bounds AS (
    SELECT MIN(flight_date) AS first_day, MAX(flight_date) AS last_day FROM flight_dates
),
spine AS (
    SELECT DATEADD(DAY, SEQ4(), bounds.first_day)::DATE AS date_day, bounds.last_day
    FROM TABLE(GENERATOR(ROWCOUNT => 36600)), bounds
)
SELECT
    date_day,
    YEAR(date_day) AS year,
    QUARTER(date_day) AS quarter,
    MONTH(date_day) AS month,
    MONTHNAME(date_day) AS month_name,
    DAY(date_day) AS day_of_month,
    DAYOFWEEK(date_day) AS day_of_week,
    WEEKOFYEAR(date_day) AS week_of_year,
    DAYOFWEEK(date_day) IN (0, 6) AS is_weekend
FROM spine
WHERE date_day <= last_day
