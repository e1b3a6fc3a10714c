-- Average departure delay (minutes, 2 decimals) by origin airport and quarter.
CREATE OR REPLACE TRANSIENT TABLE {{ this }} AS
SELECT
    f.origin,
    d.year,
    d.quarter,
    COUNT(*) AS flights,
    COUNT(f.dep_delay) AS departed,
    ROUND(AVG(f.dep_delay), 2) AS avg_dep_delay_minutes
FROM {{ ref('flights') }} AS f
INNER JOIN {{ ref('dim_date') }} AS d ON d.date_day = f.flight_date
GROUP BY f.origin, d.year, d.quarter
