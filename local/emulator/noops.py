"""Statements a real account needs but the emulator cannot parse: no-ops here only.

sql/ keeps real Snowflake SQL; fakesnow's `nop_regexes` makes these succeed without effect.
"""

EMULATOR_NOOPS = [
    r"\s*create\s+(or\s+replace\s+)?warehouse\b",
    r"\s*alter\s+warehouse\b",
    r"\s*create\s+(or\s+replace\s+)?role\b",
    r"\s*grant\b",
    r"\s*use\s+(secondary\s+)?(warehouse|role)\b",
    r"\s*create\s+(or\s+replace\s+)?(storage\s+)?integration\b",
]
