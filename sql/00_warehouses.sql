-- Warehouses: X-SMALL, suspended after 60 s idle, resumed on demand.
CREATE WAREHOUSE IF NOT EXISTS etl_wh
    WAREHOUSE_SIZE = 'XSMALL' AUTO_SUSPEND = 60 AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE
    COMMENT = 'Loads (COPY INTO) and analytics builds run by Airflow';

CREATE WAREHOUSE IF NOT EXISTS reporting_wh
    WAREHOUSE_SIZE = 'XSMALL' AUTO_SUSPEND = 60 AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE
    COMMENT = 'Queries of the analytics tables';
