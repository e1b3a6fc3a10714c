"""The embedded local stack: emulators (moto S3, fakesnow over TLS) and real Airflow 3 processes.

`make run`, the end-to-end tests and the benchmarks all start the stack through this package.
"""
