-- Roles: etl (Airflow's role: loads raw, builds analytics) and reporting (reads analytics).
CREATE ROLE IF NOT EXISTS etl;
CREATE ROLE IF NOT EXISTS reporting;
GRANT ROLE etl TO ROLE SYSADMIN;
GRANT ROLE reporting TO ROLE SYSADMIN;

GRANT USAGE ON WAREHOUSE etl_wh TO ROLE etl;
GRANT USAGE ON DATABASE raw TO ROLE etl;
GRANT USAGE, CREATE TABLE ON SCHEMA raw.ops TO ROLE etl;
GRANT USAGE, CREATE TABLE ON SCHEMA raw.nycflights TO ROLE etl;
GRANT USAGE ON STAGE raw.ops.landing TO ROLE etl;
GRANT SELECT, INSERT ON TABLE raw.ops.load_audit TO ROLE etl;
GRANT SELECT, INSERT ON FUTURE TABLES IN SCHEMA raw.nycflights TO ROLE etl;
GRANT USAGE ON DATABASE analytics TO ROLE etl;
GRANT USAGE, CREATE TABLE ON SCHEMA analytics.nycflights TO ROLE etl;

GRANT USAGE ON WAREHOUSE reporting_wh TO ROLE reporting;
GRANT USAGE ON DATABASE analytics TO ROLE reporting;
GRANT USAGE ON SCHEMA analytics.nycflights TO ROLE reporting;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics.nycflights TO ROLE reporting;
GRANT SELECT ON FUTURE TABLES IN SCHEMA analytics.nycflights TO ROLE reporting;
