{#-
    Current stock: one row per (source system, warehouse, product), the snapshot with the
    latest as_of (a later load of the same moment wins). An older file loaded late does
    not replace newer stock: it only adds history.
-#}
with

history as (

    select * from {{ ref('stock_history') }}

),

final as (

    select distinct on (stock_level_id)
        stock_level_id,
        source_system,
        warehouse_code,
        warehouse,
        product_key,
        product_source_id,
        is_product_known,
        unit_code,
        unit,
        quantity_on_hand,
        quantity_reserved,
        quantity_available,
        as_of,
        load_id,
        record_no,
        source_line,
        file_name
    from history
    order by stock_level_id asc, as_of desc, load_id desc, record_no desc

)

select * from final
