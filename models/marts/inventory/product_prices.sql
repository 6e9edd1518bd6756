{#-
    Every validity period of every price: one row per (source system, price list,
    product, unit, valid_from), the latest loaded version; a price sent with deleted =
    true leaves. valid_to is inclusive, NULL when open-ended. Currency and unit are
    canonical codes (unit defaults to the product's base unit); product_key is the
    source product's key whether or not crm.products knows it (is_product_known).
-#}
with

prices as (

    select * from {{ ref('stg_raw__prices') }}

),

products as (

    select * from {{ ref('int_products_resolved') }}

),

lookup as (

    select * from {{ ref('int_dictionary_lookup') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

latest_prices as (

    select distinct on (source_system, price_list, product_source_id, lower(coalesce(unit_code, '')), valid_from) *
    from prices
    order by
        source_system asc,
        price_list asc,
        product_source_id asc,
        lower(coalesce(unit_code, '')) asc,
        valid_from asc,
        load_id desc,
        record_no desc

),

resolved as (

    select
        latest_prices.*,
        currencies.canonical_code as currency,
        products.product_key is not null as is_product_known,
        coalesce(units.canonical_code, case when latest_prices.unit_code is null then products.base_unit end)
            as unit
    from latest_prices
    left join products
        on latest_prices.product_key = products.product_key
    left join lookup as units
        on
            latest_prices.source_system = units.source_system
            and units.dictionary = 'unit'
            and lower(latest_prices.unit_code) = units.code_key
    left join lookup as currencies
        on
            latest_prices.source_system = currencies.source_system
            and currencies.dictionary = 'currency'
            and lower(latest_prices.currency_code) = currencies.code_key
    where not latest_prices.is_deleted

),

final as (

    select
        resolved.source_system,
        resolved.price_list,
        resolved.product_key,
        resolved.product_source_id,
        resolved.is_product_known,
        resolved.unit_code,
        resolved.unit,
        resolved.net_price,
        resolved.gross_price,
        resolved.currency_code,
        resolved.currency,
        resolved.valid_from,
        resolved.valid_to,
        resolved.load_id,
        resolved.record_no,
        resolved.source_line,
        loads.file_name,
        md5(
            resolved.source_system || '|' || resolved.price_list || '|' || resolved.product_source_id
            || '|' || lower(coalesce(resolved.unit_code, '')) || '|' || resolved.valid_from::text
        ) as price_id
    from resolved
    left join loads
        on resolved.load_id = loads.load_id

)

select * from final
