-- Average departure delay (minutes, 2 decimals) by origin airport and quarter.
CREATE OR REPLACE TRANSIENT TABLE analytics.nycflights.delays_by_origin_quarter AS
SELECT
    f.origin,
    d.year,
    d.quarter,
    COUNT(*) AS flights,
    COUNT(f.dep_delay) AS departed,
    ROUND(AVG(f.dep_delay), 2) AS avg_dep_delay_minutes
FROM analytics.nycflights.flights AS f
INNER JOIN analytics.nycflights.dim_date AS d ON d.date_day = f.flight_date
GROUP BY f.origin, d.year, d.quarter
