{#- Fails every row whose non-null value is not a valid, normalised 10-digit NIP. -#}
{% test valid_nip(model, column_name) %}

    select *
    from {{ model }}
    where
        {{ column_name }} is not null
        and not {{ nip_checksum_ok(column_name) }}

{% endtest %}
