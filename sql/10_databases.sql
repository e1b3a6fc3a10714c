-- Databases and schemas, named in the config: the raw schema (tables loaded as-is) and the
-- schemas of the stage and the load audit (sources.yml), and the analytics schema (analytics.yml).
-- When two of them share a database or schema, its statement runs once.
CREATE DATABASE IF NOT EXISTS {{ stage_database }};
CREATE SCHEMA IF NOT EXISTS {{ stage_schema }};
CREATE DATABASE IF NOT EXISTS {{ audit_database }};
CREATE SCHEMA IF NOT EXISTS {{ audit_schema }};
CREATE DATABASE IF NOT EXISTS {{ raw_database }};
CREATE SCHEMA IF NOT EXISTS {{ raw_schema }};
CREATE DATABASE IF NOT EXISTS {{ analytics_database }};
CREATE SCHEMA IF NOT EXISTS {{ analytics_schema }};
