{#-
    One row per calendar event (source_system, uid): its current version. Of several
    versions the highest (sequence, source_updated_at, load_id, record_no) wins, a
    missing sequence or time counting as older than any: a re-sent event replaces the
    previous version (attendees go with the version, see calendar_attendees), a stale
    resend with a lower SEQUENCE does not.

    Incremental: only the loads newer than the model's watermark are read, and only
    events whose current version changed reach the MERGE.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='event_key',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
            ]) }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set new_load_ids = crm7_new_load_ids(ref('stg_raw__loads'), 'calendar_events') %}

with

events as (

    select * from {{ ref('stg_raw__calendar_events') }}

),

{% if is_incremental() %}

existing as (

    select * from {{ this }}

),

{% else %}

existing as (

    {#- Full build: nothing deduplicated yet; same columns as the table, no rows. -#}
    select
        null::text as event_key,
        null::bigint as event_sequence,
        null::timestamptz as source_updated_at,
        null::bigint as load_id,
        null::bigint as record_no,
        null::bigint as first_load_id,
        null::text as record_hash
    where false

),

{% endif %}

batch_records as (

    select events.*
    from events
    where
        events.load_id in ({{ new_load_ids | join(', ') if new_load_ids else 'null' }})

),

batch_keys as (

    select
        event_key,
        min(load_id) as first_load_id
    from batch_records
    group by event_key

),

ranked as (

    select
        batch_records.*,
        row_number() over (
            partition by batch_records.event_key
            order by
                batch_records.event_sequence desc nulls last,
                batch_records.source_updated_at desc nulls last,
                batch_records.load_id desc,
                batch_records.record_no desc
        ) as version_rank
    from batch_records

),

latest_records as (

    select
        ranked.*,
        batch_keys.first_load_id
    from ranked
    inner join batch_keys
        on ranked.event_key = batch_keys.event_key
    where ranked.version_rank = 1

),

hashed as (

    select
        *,
        md5(
            row(
                event_sequence, source_updated_at, is_deleted, event_kind, event_status, title,
                description, location, time_zone_raw, start_raw, end_raw, start_date, end_date_raw,
                recurrence_rule, reminder_minutes_before, organizer_name, organizer_email,
                company_source_system, company_source_record_id, company_nip_raw,
                person_source_record_id, person_name, person_email
            )::text
        ) as record_hash
    from latest_records

),

final as (

    select
        hashed.event_key,
        hashed.source_system,
        hashed.uid,
        hashed.event_sequence,
        hashed.source_updated_at,
        hashed.is_deleted,
        hashed.is_cancelled,
        hashed.event_kind,
        hashed.event_status,
        hashed.title,
        hashed.description,
        hashed.location,
        hashed.is_all_day,
        hashed.time_zone_raw,
        hashed.time_zone,
        hashed.is_time_zone_given,
        hashed.is_unknown_time_zone,
        hashed.start_raw,
        hashed.end_raw,
        hashed.start_at,
        hashed.end_at,
        hashed.start_local,
        hashed.end_local,
        hashed.start_date,
        hashed.end_date,
        hashed.is_start_nonexistent_local_time,
        hashed.is_start_ambiguous_local_time,
        hashed.is_end_nonexistent_local_time,
        hashed.is_end_ambiguous_local_time,
        hashed.is_offset_different_from_time_zone,
        hashed.is_end_before_start,
        hashed.recurrence_rule,
        hashed.is_recurring,
        hashed.reminder_minutes_before,
        hashed.reminder_at,
        hashed.organizer_name,
        hashed.organizer_email,
        hashed.company_source_system,
        hashed.company_source_record_id,
        hashed.company_nip_raw,
        hashed.company_nip,
        hashed.person_source_record_id,
        hashed.person_name,
        hashed.person_email,
        hashed.load_id,
        hashed.record_no,
        hashed.source_line,
        hashed.loaded_at,
        hashed.load_id as last_load_id,
        hashed.record_hash,
        coalesce(existing.first_load_id, hashed.first_load_id) as first_load_id,
        now() as deduplicated_at
    from hashed
    left join existing
        on hashed.event_key = existing.event_key
    where
        existing.event_key is null
        or (
            existing.record_hash <> hashed.record_hash
            and (
                coalesce(hashed.event_sequence, -1),
                coalesce(hashed.source_updated_at, '-infinity'::timestamptz),
                hashed.load_id,
                hashed.record_no
            )
            > (
                coalesce(existing.event_sequence, -1),
                coalesce(existing.source_updated_at, '-infinity'::timestamptz),
                existing.load_id,
                existing.record_no
            )
        )

)

select * from final
