{#-
    One row per calendar event (its current version) with the company it concerns and
    every reason it needs review. The company is found through crm.company_links
    (contractor id in a source system) and/or through the NIP in crm.companies; when
    both are given they must agree, otherwise the event keeps no company
    (company_conflict): crm7_resolve_company with nip_differs_from_link='conflict'.
    Rebuilt each run: a company loaded later resolves events loaded earlier.
-#}
with

events as (

    select * from {{ ref('int_calendar_events_deduplicated') }}

),

links as (

    select * from {{ ref('company_links') }}

),

companies as (

    select * from {{ ref('companies') }}

),

loaded_versions as (

    select * from {{ ref('stg_raw__calendar_events') }}

),

-- Events with a version loaded after the current one that lost (lower SEQUENCE or an
-- older sourceUpdatedAt): a stale resend, ignored but named. An unchanged repeat is not.
stale_resends as (

    select distinct loaded_versions.event_key
    from loaded_versions
    inner join events
        on loaded_versions.event_key = events.event_key
    where
        (loaded_versions.load_id, loaded_versions.record_no) > (events.load_id, events.record_no)
        and (
            coalesce(loaded_versions.event_sequence, -1),
            coalesce(loaded_versions.source_updated_at, '-infinity'::timestamptz)
        )
        < (
            coalesce(events.event_sequence, -1),
            coalesce(events.source_updated_at, '-infinity'::timestamptz)
        )

),

companies_resolved as (

    {{ crm7_resolve_company(
        'events',
        'company_source_system',
        'company_source_record_id',
        'company_nip',
        nip_differs_from_link='conflict',
    ) }}

),

decided as (

    select
        companies_resolved.*,
        {{ nip_checksum_ok('companies_resolved.company_nip') }} as is_company_nip_valid,
        stale_resends.event_key is not null as has_stale_resend
    from companies_resolved
    left join stale_resends
        on companies_resolved.event_key = stale_resends.event_key

),

reasoned as (

    select
        *,
        nullif(array_to_string(array_remove(
            array[
                case
                    when company_nip is not null and not is_company_nip_valid then 'invalid_company_nip'
                end,
                case
                    when
                        has_company_reference
                        and company_id is null
                        and not is_company_conflict
                        and (company_nip is null or is_company_nip_valid)
                        then 'unknown_company'
                end,
                case when is_company_conflict then 'company_conflict' end,
                case when is_unknown_time_zone then 'unknown_time_zone' end,
                case
                    when is_start_nonexistent_local_time or is_end_nonexistent_local_time
                        then 'nonexistent_local_time'
                end,
                case
                    when is_start_ambiguous_local_time or is_end_ambiguous_local_time
                        then 'ambiguous_local_time'
                end,
                case when is_offset_different_from_time_zone then 'offset_differs_from_time_zone' end,
                case when is_end_before_start then 'end_before_start' end,
                case when has_stale_resend then 'stale_version_ignored' end
            ],
            null
        ), ','), '') as review_reasons
    from decided

),

final as (

    select
        reasoned.event_key,
        reasoned.source_system,
        reasoned.uid,
        reasoned.event_sequence,
        reasoned.source_updated_at,
        reasoned.is_deleted,
        reasoned.is_cancelled,
        reasoned.event_kind,
        reasoned.event_status,
        reasoned.title,
        reasoned.description,
        reasoned.location,
        reasoned.is_all_day,
        reasoned.time_zone_raw,
        reasoned.time_zone,
        reasoned.start_raw,
        reasoned.end_raw,
        reasoned.start_at,
        reasoned.end_at,
        reasoned.start_local,
        reasoned.end_local,
        reasoned.start_date,
        reasoned.end_date,
        reasoned.recurrence_rule,
        reasoned.is_recurring,
        reasoned.reminder_minutes_before,
        reasoned.reminder_at,
        reasoned.organizer_name,
        reasoned.organizer_email,
        reasoned.company_source_system,
        reasoned.company_source_record_id,
        reasoned.company_nip_raw,
        reasoned.company_nip,
        reasoned.is_company_nip_valid,
        reasoned.person_source_record_id,
        reasoned.person_name,
        reasoned.person_email,
        reasoned.load_id,
        reasoned.record_no,
        reasoned.source_line,
        reasoned.first_load_id,
        reasoned.last_load_id,
        reasoned.deduplicated_at,
        reasoned.link_company_id,
        reasoned.nip_company_id,
        reasoned.company_id,
        reasoned.company_matched_by,
        reasoned.review_reasons
    from reasoned

)

select * from final
