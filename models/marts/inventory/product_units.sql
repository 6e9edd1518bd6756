{#-
    The units each product is known in: its base unit (factor 1) and the alternative
    units of its latest version, each with the number of base units it holds. unit is
    the canonical (or client's own) code; NULL when no dictionary knows unit_code.
-#}
with

products as (

    select * from {{ ref('int_products_resolved') }}

),

units as (

    select * from {{ ref('stg_raw__product_units') }}

),

lookup as (

    select * from {{ ref('int_dictionary_lookup') }}

),

base_units as (

    select
        product_key,
        source_system,
        base_unit_code as unit_code,
        base_unit as unit,
        1::numeric as factor,
        gtin,
        true as is_base_unit,
        0 as unit_position,
        source_line
    from products

),

alternative_units as (

    select
        products.product_key,
        products.source_system,
        units.unit_code,
        lookup.canonical_code as unit,
        units.factor,
        units.gtin,
        false as is_base_unit,
        units.unit_position,
        units.source_line
    from products
    inner join units
        on
            products.load_id = units.load_id
            and products.record_no = units.record_no
    left join lookup
        on
            products.source_system = lookup.source_system
            and lookup.dictionary = 'unit'
            and lower(units.unit_code) = lookup.code_key

),

unioned as (

    select * from base_units
    union all
    select * from alternative_units

),

final as (

    select distinct on (product_key, lower(unit_code))
        product_key,
        source_system,
        unit_code,
        unit,
        factor,
        gtin,
        is_base_unit,
        source_line,
        md5(product_key || '|' || lower(unit_code)) as product_unit_id
    from unioned
    order by product_key asc, lower(unit_code) asc, unit_position asc

)

select * from final
