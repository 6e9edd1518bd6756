with

source as (

    select * from {{ source('raw', 'invoice_vat_totals') }}
    -- An element given as xsi:nil="true" (contracts 1.1) stands for no element: the
    -- record's list is the elements given.
    where _is_nil is not true

),

renamed as (

    select
        _load_id as load_id,
        _record_no as record_no,
        _position as vat_total_no,
        _source_line as source_line,
        {{ normalize_code('vat_rate') }} as vat_rate_code,
        net as net_amount,
        vat as vat_amount,
        coalesce(gross, net + vat) as gross_amount,
        gross is null as is_gross_derived,
        _loaded_at as loaded_at

    from source

)

select * from renamed
