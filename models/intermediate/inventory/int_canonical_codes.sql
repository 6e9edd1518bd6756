{#- Every canonical code of every dictionary (the seeds), with its lookup key. -#}
{{ config(materialized='view') }}

{%- set seeds = {
    'vat_rate': 'canonical_vat_rates',
    'payment_type': 'canonical_payment_types',
    'unit': 'canonical_units',
    'currency': 'canonical_currencies',
    'warehouse': 'canonical_warehouses',
    'document_type': 'canonical_warehouse_document_types',
} %}

with

{% for dictionary, seed in seeds.items() %}
{{ seed }} as (

    select
        '{{ dictionary }}' as dictionary,
        code,
        name
    from {{ ref(seed) }}

),

{% endfor %}

unioned as (

    {%- for seed in seeds.values() %}
    select * from {{ seed }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        dictionary,
        code,
        name,
        lower(code) as code_key
    from unioned

)

select * from final
