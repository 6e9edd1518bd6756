{#-
    One row per source product (source_system, source_record_id): its latest loaded
    version, with base unit and VAT rate resolved to canonical codes through the
    dictionaries (NULL when no dictionary knows the code; see crm.inventory_review).
-#}
with

products as (

    select * from {{ ref('stg_raw__products') }}

),

lookup as (

    select * from {{ ref('int_dictionary_lookup') }}

),

latest_products as (

    select distinct on (product_key) *
    from products
    order by product_key asc, load_id desc, record_no desc

),

resolved as (

    select
        latest_products.product_key,
        latest_products.source_system,
        latest_products.source_record_id,
        latest_products.source_updated_at,
        latest_products.is_deleted,
        latest_products.is_active,
        latest_products.code,
        latest_products.name,
        latest_products.gtin,
        latest_products.pkwiu,
        latest_products.cn,
        latest_products.base_unit_code,
        latest_products.vat_rate_code,
        latest_products.min_order_quantity,
        latest_products.min_stock_quantity,
        latest_products.load_id,
        latest_products.record_no,
        latest_products.source_line,
        units.canonical_code as base_unit,
        vat_rates.canonical_code as vat_rate
    from latest_products
    left join lookup as units
        on
            latest_products.source_system = units.source_system
            and units.dictionary = 'unit'
            and lower(latest_products.base_unit_code) = units.code_key
    left join lookup as vat_rates
        on
            latest_products.source_system = vat_rates.source_system
            and vat_rates.dictionary = 'vat_rate'
            and lower(latest_products.vat_rate_code) = vat_rates.code_key

)

select * from resolved
