"""The embedded local stack: emulators (moto S3, fakesnow over TLS) and real Airflow 3 processes.

`make run`, the end-to-end tests and the benchmarks all start the stack through this package.
"""

import sys as _sys

from local.settings import REPO as _REPO

# Airflow puts the plugins folder on sys.path; the local tooling shares that code the same way.
_PLUGINS = str(_REPO / "airflow" / "plugins")
if _PLUGINS not in _sys.path:
    _sys.path.insert(0, _PLUGINS)
