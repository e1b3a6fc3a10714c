{#
    Stop an incremental model whose existing table lacks a column its increment needs (a table
    built before the model, e.g. by the SQL layer dbt replaced), with the one command that fixes it,
    instead of a SQL error about a missing column.
#}
{% macro require_column(relation, column, model) %}
    {% if execute %}
        {% set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list %}
        {% if column | lower not in names %}
            {{ exceptions.raise_compiler_error(
                relation ~ " has no column " ~ column ~ " (it was built before this incremental model): "
                ~ "rebuild it once with `dbt build --full-refresh -s " ~ model ~ "+` "
                ~ "(locally: make dbt ARGS=\"build --full-refresh -s " ~ model ~ "+\")"
            ) }}
        {% endif %}
    {% endif %}
{% endmacro %}
