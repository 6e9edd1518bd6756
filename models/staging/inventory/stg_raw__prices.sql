with

source as (

    select * from {{ source('raw', 'prices') }}

),

renamed as (

    select
        _load_id::text || ':' || _record_no::text as price_record_id,
        _load_id as load_id,
        _record_no as record_no,
        _source_line as source_line,
        _source_system as source_system,
        {{ normalize_code('price_list') }} as price_list,
        btrim(product_id) as product_source_id,
        {{ source_record_key('_source_system', 'btrim(product_id)') }} as product_key,
        {{ normalize_code('unit') }} as unit_code,
        net_price,
        gross_price,
        coalesce({{ normalize_code('currency') }}, 'PLN') as currency_code,
        valid_from,
        valid_to,
        coalesce(deleted, false) as is_deleted,
        _loaded_at as loaded_at

    from source

)

select * from renamed
