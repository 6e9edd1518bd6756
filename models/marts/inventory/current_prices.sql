{#-
    The price valid on one day for every (price list, product, unit): the periods of
    crm.product_prices that contain var('as_of_date') (today when null). A view, so
    "today" is the day it is read. Where periods overlap (a failure in audit), the one
    starting latest wins.
-#}
{{ config(materialized='view') }}

{%- set as_of_date = var('as_of_date') %}

with

prices as (

    select * from {{ ref('product_prices') }}

),

as_of as (

    select {{ "'" ~ as_of_date ~ "'::date" if as_of_date else 'current_date' }} as as_of_date

),

valid_prices as (

    select distinct on (prices.source_system, prices.price_list, prices.product_source_id, prices.unit_code)
        prices.*,
        as_of.as_of_date
    from prices
    cross join as_of
    where
        prices.valid_from <= as_of.as_of_date
        and (prices.valid_to is null or prices.valid_to >= as_of.as_of_date)
    order by
        prices.source_system asc,
        prices.price_list asc,
        prices.product_source_id asc,
        prices.unit_code asc,
        prices.valid_from desc

),

final as (

    select
        price_id,
        source_system,
        price_list,
        product_key,
        product_source_id,
        is_product_known,
        unit_code,
        unit,
        net_price,
        gross_price,
        currency,
        valid_from,
        valid_to,
        as_of_date
    from valid_prices

)

select * from final
