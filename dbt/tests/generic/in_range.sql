{#
    Every non-null value of the column lies in the range: at_least / greater_than for the lower
    bound, at_most / less_than for the upper one (give one or two). Fails with the rows outside.
        - in_range: {greater_than: 0, at_most: 10000}
#}
{% test in_range(model, column_name, at_least=none, greater_than=none, at_most=none, less_than=none) %}
{%- set outside = [] -%}
{%- if at_least is not none %}{% do outside.append(column_name ~ ' < ' ~ at_least) %}{% endif -%}
{%- if greater_than is not none %}{% do outside.append(column_name ~ ' <= ' ~ greater_than) %}{% endif -%}
{%- if at_most is not none %}{% do outside.append(column_name ~ ' > ' ~ at_most) %}{% endif -%}
{%- if less_than is not none %}{% do outside.append(column_name ~ ' >= ' ~ less_than) %}{% endif -%}
{%- if not outside -%}
    {{ exceptions.raise_compiler_error(
        "in_range on " ~ model ~ "." ~ column_name ~ ": give at least one bound "
        ~ "(at_least, greater_than, at_most, less_than)") }}
{%- endif %}
select {{ column_name }}
from {{ model }}
where {{ outside | join(' or ') }}
{% endtest %}
