{#
    The model has as many rows as another relation: a raw table it is built from
    (`to: source('raw', 'flights')`, the raw-vs-analytics reconciliation) or another model
    (`to: ref('flights')`, no join duplicated or dropped a row). Fails with both counts.
#}
{% test row_count_equals(model, to) %}
select model_rows, compared_rows
from (
    select
        (select count(*) from {{ model }}) as model_rows,
        (select count(*) from {{ to }}) as compared_rows
) as counts
where model_rows <> compared_rows
{% endtest %}
