with

source as (

    select * from {{ source('raw', 'warehouse_document_lines') }}
    -- An element given as xsi:nil="true" (contracts 1.1) stands for no element: the
    -- record's list is the elements given.
    where _is_nil is not true

),

renamed as (

    select
        _load_id as load_id,
        _record_no as record_no,
        _position as line_no,
        _source_line as source_line,
        btrim(product_id) as product_source_id,
        quantity,
        {{ normalize_code('unit') }} as unit_code,
        unit_price,
        value as line_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
