{#-
    One row per loaded calendar event record. Times are read as the contract says:
    start/end with an offset are instants; without one, local times in the event's
    time zone (Europe/Warsaw when omitted or unknown), see local_time_instant; an
    all-day event runs from midnight of startDate to midnight of endDate (exclusive,
    one day when omitted) in that zone. Flags name every disagreement; nothing is
    filtered.
-#}
{%- set offset_pattern = "'(Z|[+-][0-9]{2}:[0-9]{2})$'" %}
{%- set default_time_zone = "'Europe/Warsaw'" %}

with

source as (

    select * from {{ source('raw', 'calendar_events') }}

),

time_zones as (

    select name as time_zone from pg_catalog.pg_timezone_names

),

renamed as (

    select
        source._load_id::text || ':' || source._record_no::text as event_record_id,
        {{ source_record_key('source._source_system', 'source.uid') }} as event_key,
        source._load_id as load_id,
        source._record_no as record_no,
        source._source_line as source_line,
        source._source_system as source_system,
        source.uid,
        source.sequence as event_sequence,
        source.source_updated_at,
        coalesce(source.deleted, false) as is_deleted,
        coalesce(lower(source.kind), 'other') as event_kind,
        coalesce(lower(source.status), 'confirmed') as event_status,
        nullif(btrim(source.title), '') as title,
        source.description,
        nullif(btrim(source.location), '') as location,  -- noqa: RF04
        source.time_zone as time_zone_raw,
        source.start as start_raw,
        source."end" as end_raw,  -- noqa: RF04
        source.start_date,
        source.end_date as end_date_raw,
        source.recurrence_rule,
        source.reminder_minutes_before,
        nullif(btrim(source.organizer_name), '') as organizer_name,
        {{ normalize_email('source.organizer_email') }} as organizer_email,
        coalesce(source.company_source_system, source._source_system) as company_source_system,
        source.company_source_record_id,
        source.company_nip as company_nip_raw,
        {{ normalize_nip('source.company_nip') }} as company_nip,
        source.person_source_record_id,
        nullif(btrim(source.person_name), '') as person_name,
        {{ normalize_email('source.person_email') }} as person_email,
        source._loaded_at as loaded_at

    from source

),

zoned as (

    select
        renamed.*,
        renamed.start_date is not null as is_all_day,
        renamed.time_zone_raw is not null and time_zones.time_zone is null as is_unknown_time_zone,
        coalesce(time_zones.time_zone, {{ default_time_zone }}) as time_zone,
        time_zones.time_zone is not null as is_time_zone_given,
        renamed.start_raw ~ {{ offset_pattern }} as start_has_offset,
        renamed.end_raw ~ {{ offset_pattern }} as end_has_offset,
        -- The wall-clock time as written, without its offset.
        regexp_replace(renamed.start_raw, {{ offset_pattern }}, '')::timestamp as start_written_local,
        regexp_replace(renamed.end_raw, {{ offset_pattern }}, '')::timestamp as end_written_local,
        case
            when renamed.start_date is not null then coalesce(renamed.end_date_raw, renamed.start_date + 1)
        end as end_date

    from renamed
    left join time_zones
        on lower(renamed.time_zone_raw) = lower(time_zones.time_zone)

),

timed as (

    select
        *,
        case
            when is_all_day then {{ local_time_instant('start_date::timestamp', 'time_zone') }}
            when start_has_offset then start_raw::timestamptz
            else {{ local_time_instant('start_written_local', 'time_zone') }}
        end as start_at,
        case
            when is_all_day then {{ local_time_instant('end_date::timestamp', 'time_zone') }}
            when end_has_offset then end_raw::timestamptz
            else {{ local_time_instant('end_written_local', 'time_zone') }}
        end as end_at,
        not is_all_day and not start_has_offset
        and {{ local_time_is_nonexistent('start_written_local', 'time_zone') }} as is_start_nonexistent_local_time,
        not is_all_day and not start_has_offset
        and {{ local_time_is_ambiguous('start_written_local', 'time_zone') }} as is_start_ambiguous_local_time,
        coalesce(
            not end_has_offset and {{ local_time_is_nonexistent('end_written_local', 'time_zone') }},
            false
        ) as is_end_nonexistent_local_time,
        coalesce(
            not end_has_offset and {{ local_time_is_ambiguous('end_written_local', 'time_zone') }},
            false
        ) as is_end_ambiguous_local_time

    from zoned

),

final as (

    select
        *,
        start_at at time zone time_zone as start_local,
        end_at at time zone time_zone as end_local,
        coalesce(
            is_time_zone_given
            and (
                (start_has_offset and start_written_local <> (start_at at time zone time_zone))
                or (end_has_offset and end_written_local <> (end_at at time zone time_zone))
            ),
            false
        ) as is_offset_different_from_time_zone,
        coalesce(end_at < start_at or (is_all_day and end_date <= start_date), false) as is_end_before_start,
        recurrence_rule is not null as is_recurring,
        event_status = 'cancelled' as is_cancelled,
        start_at - make_interval(mins => reminder_minutes_before::int) as reminder_at

    from timed

)

select * from final
