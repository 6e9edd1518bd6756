-- Two validity periods of one product and unit in one price list must not overlap:
-- each failing row names both periods (warn; the rows stay in audit).
{{ config(severity='warn') }}

with

prices as (

    select * from {{ ref('product_prices') }}

),

final as (

    select
        earlier.source_system,
        earlier.price_list,
        earlier.product_source_id,
        earlier.unit_code,
        earlier.price_id,
        earlier.valid_from,
        earlier.valid_to,
        later.price_id as overlapping_price_id,
        later.valid_from as overlapping_valid_from,
        later.valid_to as overlapping_valid_to,
        earlier.file_name,
        earlier.source_line,
        later.file_name as overlapping_file_name,
        later.source_line as overlapping_source_line
    from prices as earlier
    inner join prices as later
        on
            earlier.source_system = later.source_system
            and earlier.price_list = later.price_list
            and earlier.product_source_id = later.product_source_id
            and earlier.unit_code is not distinct from later.unit_code
            and earlier.valid_from < later.valid_from
    where earlier.valid_to is null or earlier.valid_to >= later.valid_from

)

select * from final
