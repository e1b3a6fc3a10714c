"""The sample sources file starts snowflake_raw from the landing queue (events:), whose URL
reaches the DAGs through the environment. Parsing never contacts it; nothing listens there."""

import os

from snowflake_pipeline.events import QUEUE_URL_ENV

os.environ.setdefault(QUEUE_URL_ENV, "http://127.0.0.1:9/123456789012/dag-tests")
