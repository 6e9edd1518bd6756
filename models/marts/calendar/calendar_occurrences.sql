{#-
    One row per occurrence of each calendar event: the event itself when it does not
    recur; otherwise its recurrence rule expanded in the event's time zone, so every
    occurrence keeps its wall-clock time across daylight-saving changes (a weekly 10:00
    in Europe/Warsaw is 08:00 UTC in summer and 09:00 UTC in winter). A timed
    occurrence lasts exactly as long as the event (RFC 5545); an all-day one as many
    days.

    Expanded: FREQ DAILY, WEEKLY (with BYDAY of plain weekdays), MONTHLY and YEARLY
    with INTERVAL, COUNT and UNTIL (WKST=MO, the default); a date that does not exist
    (31 April, 29 February in other years) is skipped, as RFC 5545 says. Occurrences
    start within {{ horizon_years }} years of the first one, at most {{ max_occurrences }}.
    Any other rule part leaves only the first occurrence, with is_recurrence_expanded
    false.
-#}
{%- set horizon_years = 5 -%}
{%- set max_occurrences = 1000 -%}
{%- set weekdays = {'MO': 0, 'TU': 1, 'WE': 2, 'TH': 3, 'FR': 4, 'SA': 5, 'SU': 6} -%}

with

events as (

    select * from {{ ref('calendar_events') }}

),

rules as (

    select
        event_id,
        is_all_day,
        time_zone,
        start_local,
        start_date,
        end_at - start_at as duration,
        end_date - start_date as day_count,
        recurrence_rule is not null as is_recurring,
        regexp_replace(recurrence_rule, '^RRULE:', '') as rule_text
    from events

),

parsed as (

    select
        *,
        substring(rule_text from '(?:^|;)FREQ=([A-Z]+)') as frequency,
        coalesce(substring(rule_text from '(?:^|;)INTERVAL=([0-9]+)')::int, 1) as step,
        substring(rule_text from '(?:^|;)COUNT=([0-9]+)')::int as max_count,
        substring(rule_text from '(?:^|;)UNTIL=([0-9]{8}(?:T[0-9]{6}Z?)?)') as until_raw,
        substring(rule_text from '(?:^|;)BYDAY=([^;]+)') as by_day,
        coalesce(substring(rule_text from '(?:^|;)WKST=([A-Z]+)'), 'MO') as week_start
    from rules

),

supported as (

    select
        *,
        coalesce(
            is_recurring
            and frequency in ('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY')
            and week_start = 'MO'
            and (
                by_day is null
                or (frequency = 'WEEKLY' and by_day ~ '^(MO|TU|WE|TH|FR|SA|SU)(,(MO|TU|WE|TH|FR|SA|SU))*$')
            )
            and not exists (
                select 1
                from regexp_split_to_table(parsed.rule_text, ';') as rule_parts (rule_part)
                where
                    split_part(rule_parts.rule_part, '=', 1)
                    not in ('FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'BYDAY', 'WKST')
            ),
            false
        ) as is_recurrence_expanded,
        -- UNTIL is inclusive: an instant (...Z), a local time in the zone, or a date.
        case when until_raw ~ 'Z$' then until_raw::timestamptz end as until_at,
        case when until_raw ~ 'T[0-9]{6}$' then until_raw::timestamp end as until_local,
        case when until_raw !~ 'T' then until_raw::date end as until_date
    from parsed

),

periods as (

    {#- One row per period k (day, week, month or year, times INTERVAL) to look at. -#}
    select
        supported.*,
        period_numbers.k
    from supported
    cross join lateral generate_series(
        0,
        case
            when not supported.is_recurrence_expanded then 0
            when supported.frequency = 'DAILY' then {{ horizon_years }} * 366 / supported.step
            when supported.frequency = 'WEEKLY' then {{ horizon_years }} * 53 / supported.step
            when supported.frequency = 'MONTHLY' then {{ horizon_years }} * 12 / supported.step
            else {{ horizon_years }} / supported.step
        end
    ) as period_numbers (k)

),

candidates as (

    select
        periods.*,
        case
            when not periods.is_recurrence_expanded then periods.start_local
            when periods.frequency = 'DAILY' then periods.start_local + periods.k * periods.step * interval '1 day'
            when periods.frequency = 'MONTHLY' then periods.start_local + periods.k * periods.step * interval '1 month'
            when periods.frequency = 'YEARLY' then periods.start_local + periods.k * periods.step * interval '1 year'
            when periods.by_day is null then periods.start_local + periods.k * periods.step * interval '1 week'
            else
                date_trunc('week', periods.start_local)
                + periods.k * periods.step * interval '1 week'
                + weekday_offsets.day_offset * interval '1 day'
                + periods.start_local::time
        end as candidate_local
    from periods
    left join lateral (
        select
            case by_days.day_name
                {%- for name, offset in weekdays.items() %}
                when '{{ name }}' then {{ offset }}
                {%- endfor %}
            end as day_offset
        from unnest(string_to_array(periods.by_day, ',')) as by_days (day_name)
    ) as weekday_offsets on periods.is_recurrence_expanded and periods.frequency = 'WEEKLY'

),

valid as (

    {#- Monthly and yearly steps land on the same day of the month; a day that does not
        exist that month (PostgreSQL would move it to the last day) is skipped. -#}
    select *
    from candidates
    where
        candidate_local >= start_local
        and candidate_local < start_local + interval '{{ horizon_years }} years'
        and (
            frequency not in ('MONTHLY', 'YEARLY')
            or not is_recurrence_expanded
            or extract(day from candidate_local) = extract(day from start_local)
        )
        and (until_local is null or candidate_local <= until_local)
        and (until_date is null or candidate_local::date <= until_date)

),

numbered as (

    select
        *,
        row_number() over (partition by event_id order by candidate_local) as occurrence_number,
        {{ local_time_instant('candidate_local', 'time_zone') }} as occurrence_start_at
    from valid

),

final as (

    select
        event_id,
        occurrence_number,
        is_all_day,
        time_zone,
        is_recurrence_expanded,
        occurrence_start_at as start_at,
        md5(event_id || '|' || occurrence_number::text) as occurrence_id,
        occurrence_start_at at time zone time_zone as start_local,
        case
            when is_all_day
                then {{ local_time_instant('(candidate_local::date + day_count)::timestamp', 'time_zone') }}
            else occurrence_start_at + duration
        end as end_at,
        case when is_all_day then candidate_local::date end as start_date,
        case when is_all_day then candidate_local::date + day_count end as end_date
    from numbered
    where
        occurrence_number <= least(coalesce(max_count, {{ max_occurrences }}), {{ max_occurrences }})
        and (until_at is null or occurrence_start_at <= until_at)

)

select * from final
