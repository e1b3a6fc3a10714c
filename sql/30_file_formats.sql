-- Named file formats for ad-hoc queries of staged files, beside the stage; loads render theirs
-- from sources.yml and use none of these.
CREATE FILE FORMAT IF NOT EXISTS {{ stage_schema }}.csv_header
    TYPE = CSV SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '"' NULL_IF = ('NA', '');
CREATE FILE FORMAT IF NOT EXISTS {{ stage_schema }}.json_lines TYPE = JSON;
CREATE FILE FORMAT IF NOT EXISTS {{ stage_schema }}.parquet TYPE = PARQUET;
