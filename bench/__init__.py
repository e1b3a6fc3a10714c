"""Benchmarks: scripts that measure and print figures (never asserted in tests).

They reuse the pipeline's own code (airflow/plugins/snowflake_pipeline), as Airflow does.
"""

import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[1] / "airflow" / "plugins"
if str(PLUGINS) not in sys.path:
    sys.path.append(str(PLUGINS))
