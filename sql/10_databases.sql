-- Databases and schemas: raw (loaded as-is, plus the stage and load audit) and analytics.
CREATE DATABASE IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS raw.ops;
CREATE SCHEMA IF NOT EXISTS raw.nycflights;
CREATE DATABASE IF NOT EXISTS analytics;
CREATE SCHEMA IF NOT EXISTS analytics.nycflights;
