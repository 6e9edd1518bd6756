with

source as (

    select * from {{ source('raw', 'contractor_phones') }}

),

renamed as (

    select
        _load_id as load_id,
        _record_no as record_no,
        _position as phone_position,
        _source_line as source_line,
        type as phone_type,
        value as phone_raw,
        {{ phone_from_e164('value_e164', 'value_extension') }} as phone,
        coalesce(_is_nil, false) as is_nil,
        _loaded_at as loaded_at

    from source

)

select * from renamed
