"""A Docker engine for the container tier and the deploy rehearsal, and the offline base image.

`engine.find_or_start()` uses the engine it finds or starts its own `dockerd` (root on Debian);
`offline_base.ensure()` builds a stand-in for the official Airflow image when it cannot be pulled.
"""
