with

source as (

    select * from {{ source('raw', 'stock_levels') }}

),

renamed as (

    select
        _load_id::text || ':' || _record_no::text as stock_record_id,
        _load_id as load_id,
        _record_no as record_no,
        _source_line as source_line,
        _source_system as source_system,
        {{ normalize_code('warehouse') }} as warehouse_code,
        btrim(product_id) as product_source_id,
        {{ source_record_key('_source_system', 'btrim(product_id)') }} as product_key,
        {{ normalize_code('unit') }} as unit_code,
        quantity_on_hand,
        coalesce(quantity_reserved, 0) as quantity_reserved,
        coalesce(quantity_available, quantity_on_hand - coalesce(quantity_reserved, 0)) as quantity_available,
        as_of,
        _loaded_at as loaded_at

    from source

)

select * from renamed
