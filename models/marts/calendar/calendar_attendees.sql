{#-
    One row per attendee of the current version of each calendar event: a re-sent
    event replaces its whole attendee list.
-#}
with

matched as (

    select * from {{ ref('int_calendar_events_matched') }}

),

attendees as (

    select * from {{ ref('stg_raw__calendar_event_attendees') }}

),

final as (

    select
        matched.event_key as event_id,
        attendees.attendee_position,
        attendees.attendee_name,
        attendees.attendee_email,
        attendees.attendee_role,
        attendees.attendee_response,
        attendees.load_id,
        attendees.source_line,
        md5(matched.event_key || '|' || attendees.attendee_position::text) as attendee_id
    from matched
    inner join attendees
        on
            matched.load_id = attendees.load_id
            and matched.record_no = attendees.record_no

)

select * from final
