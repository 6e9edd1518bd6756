with

source as (

    select * from {{ source('raw', 'invoice_lines') }}
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
        nullif(btrim(product_id), '') as product_source_id,
        name as line_name,
        quantity,
        {{ normalize_code('unit') }} as unit_code,
        unit_net_price,
        net as net_amount,
        {{ normalize_code('vat_rate') }} as vat_rate_code,
        vat as vat_amount,
        gross as gross_amount,
        _loaded_at as loaded_at

    from source

)

select * from renamed
