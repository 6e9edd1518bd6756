with

source as (

    select * from {{ source('raw', 'products') }}

),

renamed as (

    select
        _load_id::text || ':' || _record_no::text as product_record_id,
        {{ source_record_key('_source_system', 'source_record_id') }} as product_key,
        _load_id as load_id,
        _record_no as record_no,
        _source_line as source_line,
        _source_system as source_system,
        source_record_id,
        source_updated_at,
        coalesce(deleted, false) as is_deleted,
        coalesce(active, true) as is_active,
        nullif(btrim(code), '') as code,
        nullif(btrim(name), '') as name,
        gtin as gtin_raw,
        {{ normalize_gtin('gtin') }} as gtin,
        nullif(btrim(pkwiu), '') as pkwiu,
        nullif(regexp_replace(cn, '[^0-9]', '', 'g'), '') as cn,
        {{ normalize_code('base_unit') }} as base_unit_code,
        {{ normalize_code('vat_rate') }} as vat_rate_code,
        min_order_quantity,
        min_stock_quantity,
        _loaded_at as loaded_at

    from source

)

select * from renamed
