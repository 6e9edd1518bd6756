{#- Fails every row whose non-null value is not a valid, normalised 9- or 14-digit REGON. -#}
{% test valid_regon(model, column_name) %}

    select *
    from {{ model }}
    where
        {{ column_name }} is not null
        and not {{ regon_checksum_ok(column_name) }}

{% endtest %}
