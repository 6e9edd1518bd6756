with

source as (

    select * from {{ source('raw', 'product_units') }}
    -- An element given as xsi:nil="true" (contracts 1.1) stands for no element: the
    -- record's list is the elements given.
    where _is_nil is not true

),

renamed as (

    select
        _load_id as load_id,
        _record_no as record_no,
        _position as unit_position,
        _source_line as source_line,
        {{ normalize_code('code') }} as unit_code,
        factor,
        {{ normalize_gtin('gtin') }} as gtin,
        _loaded_at as loaded_at

    from source

)

select * from renamed
