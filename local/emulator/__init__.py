"""The local Snowflake: fakesnow over TLS, with the patches that make it load as Snowflake does.

Each module patches one fakesnow behaviour (fakesnow is pinned); each has guard tests in
test/local/emulator/ that fail when a fakesnow upgrade changes what the patch relies on.
Everything here is local tooling: sql/ and the DAGs send real Snowflake SQL.
"""
