{#-
    Every stock level ever reported: one row per (source system, warehouse, product,
    as_of), the latest loaded version of that moment.
-#}
with

stock as (

    select * from {{ ref('stg_raw__stock_levels') }}

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

latest_snapshots as (

    select distinct on (source_system, warehouse_code, product_source_id, as_of) *
    from stock
    order by source_system asc, warehouse_code asc, product_source_id asc, as_of asc, load_id desc, record_no desc

),

final as (

    select
        latest_snapshots.source_system,
        latest_snapshots.warehouse_code,
        warehouse_codes.canonical_code as warehouse,
        latest_snapshots.product_key,
        latest_snapshots.product_source_id,
        latest_snapshots.unit_code,
        latest_snapshots.quantity_on_hand,
        latest_snapshots.quantity_reserved,
        latest_snapshots.quantity_available,
        latest_snapshots.as_of,
        latest_snapshots.load_id,
        latest_snapshots.record_no,
        latest_snapshots.source_line,
        loads.file_name,
        products.product_key is not null as is_product_known,
        coalesce(units.canonical_code, case when latest_snapshots.unit_code is null then products.base_unit end)
            as unit,
        md5(
            latest_snapshots.source_system || '|' || latest_snapshots.warehouse_code
            || '|' || latest_snapshots.product_source_id || '|' || latest_snapshots.as_of::text
        ) as stock_snapshot_id,
        md5(
            latest_snapshots.source_system || '|' || latest_snapshots.warehouse_code
            || '|' || latest_snapshots.product_source_id
        ) as stock_level_id
    from latest_snapshots
    left join products
        on latest_snapshots.product_key = products.product_key
    left join lookup as warehouse_codes
        on
            latest_snapshots.source_system = warehouse_codes.source_system
            and warehouse_codes.dictionary = 'warehouse'
            and lower(latest_snapshots.warehouse_code) = warehouse_codes.code_key
    left join lookup as units
        on
            latest_snapshots.source_system = units.source_system
            and units.dictionary = 'unit'
            and lower(latest_snapshots.unit_code) = units.code_key
    left join loads
        on latest_snapshots.load_id = loads.load_id

)

select * from final
