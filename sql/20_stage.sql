-- The S3 landing stage (`stage` in sources.yml), read through a storage integration (no keys in
-- Snowflake).
-- Two-step set-up on a real account: create the integration, read DESC INTEGRATION s3_landing
-- (STORAGE_AWS_IAM_USER_ARN, STORAGE_AWS_EXTERNAL_ID) into the storage stack's parameters.
CREATE STORAGE INTEGRATION IF NOT EXISTS s3_landing
    TYPE = EXTERNAL_STAGE
    STORAGE_PROVIDER = 'S3'
    ENABLED = TRUE
    STORAGE_AWS_ROLE_ARN = '{{ storage_role_arn }}'
    STORAGE_ALLOWED_LOCATIONS = ('{{ stage_url }}');

CREATE STAGE IF NOT EXISTS {{ stage }}
    URL = '{{ stage_url }}'
    STORAGE_INTEGRATION = s3_landing
    COMMENT = 'Landing zone: one prefix per source in airflow/dags/config/sources.yml';
