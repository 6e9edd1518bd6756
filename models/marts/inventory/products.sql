{#-
    One row per source product. gtin_source_systems lists every source system holding a
    product with the same GTIN, so one product known to two systems shows as such.
-#}
with

products as (

    select * from {{ ref('int_products_resolved') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

shared_gtins as (

    select
        gtin,
        array_agg(distinct source_system order by source_system) as gtin_source_systems
    from products
    where gtin is not null and not is_deleted
    group by gtin

),

final as (

    select
        products.product_key,
        products.source_system,
        products.source_record_id,
        products.code,
        products.name,
        products.gtin,
        shared_gtins.gtin_source_systems,
        products.pkwiu,
        products.cn,
        products.base_unit,
        products.base_unit_code,
        products.vat_rate,
        products.vat_rate_code,
        products.min_order_quantity,
        products.min_stock_quantity,
        products.is_active,
        products.is_deleted,
        products.source_updated_at,
        products.load_id,
        products.record_no,
        products.source_line,
        loads.file_name,
        coalesce(cardinality(shared_gtins.gtin_source_systems) > 1, false) as is_gtin_shared
    from products
    left join shared_gtins
        on products.gtin = shared_gtins.gtin
    left join loads
        on products.load_id = loads.load_id

)

select * from final
