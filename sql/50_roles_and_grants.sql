-- Roles: etl (Airflow's role: loads raw, builds analytics) and reporting (reads analytics).
-- Databases and schemas are the config's (see 10_databases.sql); a grant rendered twice runs once.
CREATE ROLE IF NOT EXISTS etl;
CREATE ROLE IF NOT EXISTS reporting;
GRANT ROLE etl TO ROLE SYSADMIN;
GRANT ROLE reporting TO ROLE SYSADMIN;

GRANT USAGE ON WAREHOUSE etl_wh TO ROLE etl;
GRANT USAGE ON DATABASE {{ stage_database }} TO ROLE etl;
GRANT USAGE ON DATABASE {{ audit_database }} TO ROLE etl;
GRANT USAGE ON DATABASE {{ raw_database }} TO ROLE etl;
GRANT USAGE, CREATE TABLE ON SCHEMA {{ stage_schema }} TO ROLE etl;
GRANT USAGE, CREATE TABLE ON SCHEMA {{ audit_schema }} TO ROLE etl;
GRANT USAGE, CREATE TABLE ON SCHEMA {{ raw_schema }} TO ROLE etl;
GRANT USAGE ON STAGE {{ stage }} TO ROLE etl;
GRANT SELECT, INSERT ON TABLE {{ audit_table }} TO ROLE etl;
GRANT SELECT, INSERT ON FUTURE TABLES IN SCHEMA {{ raw_schema }} TO ROLE etl;
GRANT USAGE ON DATABASE {{ analytics_database }} TO ROLE etl;
GRANT USAGE, CREATE TABLE, CREATE VIEW ON SCHEMA {{ analytics_schema }} TO ROLE etl;

GRANT USAGE ON WAREHOUSE reporting_wh TO ROLE reporting;
GRANT USAGE ON DATABASE {{ analytics_database }} TO ROLE reporting;
GRANT USAGE ON SCHEMA {{ analytics_schema }} TO ROLE reporting;
GRANT SELECT ON ALL TABLES IN SCHEMA {{ analytics_schema }} TO ROLE reporting;
GRANT SELECT ON FUTURE TABLES IN SCHEMA {{ analytics_schema }} TO ROLE reporting;
