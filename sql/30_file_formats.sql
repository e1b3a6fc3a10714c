-- Named file formats for ad-hoc queries of staged files; loads render theirs from sources.yml.
CREATE FILE FORMAT IF NOT EXISTS raw.ops.csv_header
    TYPE = CSV SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '"' NULL_IF = ('NA', '');
CREATE FILE FORMAT IF NOT EXISTS raw.ops.json_lines TYPE = JSON;
CREATE FILE FORMAT IF NOT EXISTS raw.ops.parquet TYPE = PARQUET;
