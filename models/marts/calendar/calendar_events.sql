{#-
    One row per calendar event (source_system, uid), its current version: times as
    instants (start_at, end_at) and as wall-clock times in the event's time zone, the
    recurrence rule as written, and the company it concerns when that could be decided
    (else company_id is NULL and the event is in calendar_review). Deleted and
    cancelled events stay, flagged.
-#}
with

matched as (

    select * from {{ ref('int_calendar_events_matched') }}

),

attendees as (

    select * from {{ ref('stg_raw__calendar_event_attendees') }}

),

attendee_counts as (

    select
        attendees.load_id,
        attendees.record_no,
        count(*) as attendee_count
    from attendees
    inner join matched
        on
            attendees.load_id = matched.load_id
            and attendees.record_no = matched.record_no
    group by attendees.load_id, attendees.record_no

),

final as (

    select
        matched.event_key as event_id,
        matched.source_system,
        matched.uid,
        matched.event_sequence,
        matched.source_updated_at,
        matched.event_kind,
        matched.event_status,
        matched.is_cancelled,
        matched.is_deleted,
        matched.title,
        matched.description,
        matched.location,
        matched.is_all_day,
        matched.start_at,
        matched.end_at,
        matched.time_zone,
        matched.start_local,
        matched.end_local,
        matched.start_date,
        matched.end_date,
        matched.start_raw,
        matched.end_raw,
        matched.recurrence_rule,
        matched.is_recurring,
        matched.reminder_minutes_before,
        matched.reminder_at,
        matched.organizer_name,
        matched.organizer_email,
        matched.company_id,
        matched.company_matched_by,
        matched.company_source_system,
        matched.company_source_record_id,
        matched.company_nip_raw,
        matched.person_source_record_id,
        matched.person_name,
        matched.person_email,
        matched.first_load_id,
        matched.last_load_id,
        matched.record_no,
        matched.source_line,
        matched.deduplicated_at as updated_at,
        coalesce(attendee_counts.attendee_count, 0) as attendee_count,
        matched.review_reasons is not null as is_in_review
    from matched
    left join attendee_counts
        on
            matched.load_id = attendee_counts.load_id
            and matched.record_no = attendee_counts.record_no

)

select * from final
