{#-
    One row per calendar event (source_system, uid): its current version, defined on
    all versions raw holds. The highest (sequence, source_updated_at) wins, a missing
    sequence or time counting as older than any; of the versions that carry it, the
    latest one's content: a re-sent event replaces the previous version (attendees go
    with the version, see calendar_attendees), a stale resend with a lower SEQUENCE does
    not. An unchanged repeat is no new version: load_id, record_no and source_line are
    those of the first record of the last unbroken run of that content. first_load_id
    is the first load that contained the event.

    Incremental: only the loads newer than the model's watermark are read, with the
    current version of the events they bring (choosing among it and them gives what
    choosing among all versions gives), and only events whose current version changed
    reach the MERGE.
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
    from batch_records

),

-- The versions to choose from: the batch's and the current one of the same events. The
-- current version is what the versions before it chose, so choosing among it and the
-- batch gives what choosing among all versions of the event gives (a fold).
candidates as (

    select
        hashed.event_key,
        hashed.event_sequence,
        hashed.source_updated_at,
        hashed.load_id,
        hashed.record_no,
        hashed.record_hash,
        false as is_current
    from hashed

    union all

    select
        existing.event_key,
        existing.event_sequence,
        existing.source_updated_at,
        existing.load_id,
        existing.record_no,
        existing.record_hash,
        true as is_current
    from existing
    inner join batch_keys
        on existing.event_key = batch_keys.event_key

),

-- The highest (sequence, source_updated_at) wins, a missing one counting as older than
-- any; among the versions that carry it, the latest one's content.
ranked as (

    select
        candidates.*,
        rank() over (
            partition by candidates.event_key
            order by
                coalesce(candidates.event_sequence, -1) desc,
                coalesce(candidates.source_updated_at, '-infinity'::timestamptz) desc
        ) as sequence_rank,
        first_value(candidates.record_hash) over (
            partition by candidates.event_key
            order by
                coalesce(candidates.event_sequence, -1) desc,
                coalesce(candidates.source_updated_at, '-infinity'::timestamptz) desc,
                candidates.load_id desc,
                candidates.record_no desc
        ) as winning_hash
    from candidates

),

numbered as (

    select
        ranked.*,
        row_number() over (
            partition by ranked.event_key
            order by ranked.load_id asc, ranked.record_no asc
        ) as version_position
    from ranked
    where ranked.sequence_rank = 1

),

-- An unchanged repeat is no new version: the current version is the first record of
-- the last unbroken run of the winning content (in load_id, record_no order).
runs as (

    select
        numbered.event_key,
        coalesce(
            max(numbered.version_position) filter (where numbered.record_hash <> numbered.winning_hash),
            0
        ) + 1 as chosen_position
    from numbered
    group by numbered.event_key

),

chosen as (

    select numbered.*
    from numbered
    inner join runs
        on
            numbered.event_key = runs.event_key
            and numbered.version_position = runs.chosen_position

),

-- Only events whose current version changed reach the MERGE.
latest_records as (

    select
        hashed.*,
        batch_keys.first_load_id
    from hashed
    inner join chosen
        on
            hashed.event_key = chosen.event_key
            and hashed.load_id = chosen.load_id
            and hashed.record_no = chosen.record_no
    inner join batch_keys
        on hashed.event_key = batch_keys.event_key
    where not chosen.is_current

),

final as (

    select
        latest_records.event_key,
        latest_records.source_system,
        latest_records.uid,
        latest_records.event_sequence,
        latest_records.source_updated_at,
        latest_records.is_deleted,
        latest_records.is_cancelled,
        latest_records.event_kind,
        latest_records.event_status,
        latest_records.title,
        latest_records.description,
        latest_records.location,
        latest_records.is_all_day,
        latest_records.time_zone_raw,
        latest_records.time_zone,
        latest_records.is_time_zone_given,
        latest_records.is_unknown_time_zone,
        latest_records.start_raw,
        latest_records.end_raw,
        latest_records.start_at,
        latest_records.end_at,
        latest_records.start_local,
        latest_records.end_local,
        latest_records.start_date,
        latest_records.end_date,
        latest_records.is_start_nonexistent_local_time,
        latest_records.is_start_ambiguous_local_time,
        latest_records.is_end_nonexistent_local_time,
        latest_records.is_end_ambiguous_local_time,
        latest_records.is_offset_different_from_time_zone,
        latest_records.is_end_before_start,
        latest_records.recurrence_rule,
        latest_records.is_recurring,
        latest_records.reminder_minutes_before,
        latest_records.reminder_at,
        latest_records.organizer_name,
        latest_records.organizer_email,
        latest_records.company_source_system,
        latest_records.company_source_record_id,
        latest_records.company_nip_raw,
        latest_records.company_nip,
        latest_records.person_source_record_id,
        latest_records.person_name,
        latest_records.person_email,
        latest_records.load_id,
        latest_records.record_no,
        latest_records.source_line,
        latest_records.loaded_at,
        latest_records.load_id as last_load_id,
        latest_records.record_hash,
        coalesce(existing.first_load_id, latest_records.first_load_id) as first_load_id,
        now() as deduplicated_at
    from latest_records
    left join existing
        on latest_records.event_key = existing.event_key

)

select * from final
