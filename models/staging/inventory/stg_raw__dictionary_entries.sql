{#-
    One row per entry of a client dictionary, the six raw dictionary tables side by side
    (they share code / canonical_code / name), with the dictionary named in a column.
-#}
{%- set dictionaries = {
    'vat_rate': 'dictionary_vat_rates',
    'payment_type': 'dictionary_payment_types',
    'unit': 'dictionary_units',
    'currency': 'dictionary_currencies',
    'warehouse': 'dictionary_warehouses',
    'document_type': 'dictionary_document_types',
} %}

with

{% for dictionary, table in dictionaries.items() %}
{{ table }} as (

    select
        '{{ dictionary }}' as dictionary,
        _load_id,
        _record_no,
        _source_line,
        _source_system,
        _loaded_at,
        code,
        canonical_code,
        name,
        {{ 'rate' if dictionary == 'vat_rate' else 'null::numeric' }} as rate,
        {{ 'valid_from' if dictionary == 'vat_rate' else 'null::date' }} as valid_from,
        {{ 'valid_to' if dictionary == 'vat_rate' else 'null::date' }} as valid_to,
        {{ 'default_days' if dictionary == 'payment_type' else 'null::bigint' }} as default_days,
        {{ 'direction' if dictionary == 'document_type' else 'null::text' }} as direction
    from {{ source('raw', table) }}

),

{% endfor %}

unioned as (

    {%- for table in dictionaries.values() %}
    select * from {{ table }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

renamed as (

    select
        dictionary,
        _load_id as load_id,
        _record_no as record_no,
        _source_line as source_line,
        _source_system as source_system,
        {{ normalize_code('code') }} as code,
        {{ normalize_code('canonical_code') }} as canonical_code_raw,
        nullif(btrim(name), '') as name,
        rate,
        valid_from,
        valid_to,
        default_days::integer as default_days,
        direction,
        _loaded_at as loaded_at,
        _load_id::text || ':' || _record_no::text as dictionary_entry_id

    from unioned

)

select * from renamed
