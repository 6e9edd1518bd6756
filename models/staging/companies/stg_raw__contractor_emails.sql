with

source as (

    select * from {{ source('raw', 'contractor_emails') }}

),

renamed as (

    select
        _load_id as load_id,
        _record_no as record_no,
        _position as email_position,
        _source_line as source_line,
        value as email_raw,
        {{ normalize_email('value') }} as email,
        coalesce(_is_nil, false) as is_nil,
        _loaded_at as loaded_at

    from source

)

select * from renamed
