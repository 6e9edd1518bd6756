with

source as (

    select * from {{ source('raw', 'invoice_payments') }}
    -- An element given as xsi:nil="true" (contracts 1.1) stands for no element: the
    -- record's list is the elements given.
    where _is_nil is not true

),

renamed as (

    select
        _load_id as load_id,
        _record_no as record_no,
        _position as payment_no,
        _source_line as source_line,
        date as payment_date,
        amount,
        reference as payment_reference,
        _loaded_at as loaded_at,
        coalesce(overpayment, false) as is_overpayment

    from source

)

select * from renamed
