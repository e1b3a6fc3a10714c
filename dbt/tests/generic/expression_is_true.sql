{#
    A condition every row of the model meets (rows where it is NULL pass). Fails with the rows
    that break it.
        - expression_is_true: {expression: "not cancelled or dep_delay is null"}
#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
