{#-
    The calendar review queue: one row per current event version and reason. The
    event itself is in calendar_events either way (with company_id NULL when its
    company could not be decided). Rebuilt each run.
-#}
with

matched as (

    select * from {{ ref('int_calendar_events_matched') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

reasons as (

    select
        matched.event_key,
        unnest(string_to_array(matched.review_reasons, ',')) as reason
    from matched

),

final as (

    select
        reasons.reason,
        reasons.event_key as event_id,
        matched.source_system,
        matched.uid,
        matched.title,
        matched.company_source_system,
        matched.company_source_record_id,
        matched.company_nip_raw,
        matched.time_zone_raw,
        matched.start_raw,
        matched.end_raw,
        matched.start_date,
        matched.end_date,
        matched.load_id,
        matched.record_no,
        matched.source_line,
        loads.file_name,
        md5(reasons.event_key || '|' || reasons.reason) as review_id
    from reasons
    inner join matched
        on reasons.event_key = matched.event_key
    left join loads
        on matched.load_id = loads.load_id

)

select * from final
