with

source as (

    select * from {{ source('raw', 'calendar_event_attendees') }}
    -- An element given as xsi:nil="true" (contracts 1.1) stands for no element: the
    -- record's list is the elements given.
    where _is_nil is not true

),

renamed as (

    select
        _load_id as load_id,
        _record_no as record_no,
        _position as attendee_position,
        _source_line as source_line,
        coalesce(role, 'required') as attendee_role,
        coalesce(response, 'needs-action') as attendee_response,
        nullif(btrim(name), '') as attendee_name,
        email as email_raw,
        {{ normalize_email('email') }} as attendee_email,
        _loaded_at as loaded_at

    from source

)

select * from renamed
