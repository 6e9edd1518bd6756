{#-
    One row per calendar_events load: what the loader read, loaded and rejected, and
    what became of the loaded records: the current version of their event (with or
    without a company, in review or not) or superseded (by a newer version, or a stale
    resend that lost). read = rejected + current + superseded, always.
-#}
{{ config(materialized='view') }}

with

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

events as (

    select * from {{ ref('calendar_events') }}

),

current_versions as (

    select
        last_load_id as load_id,
        count(*) as records_current,
        count(company_id) as records_with_company,
        count(*) filter (where is_in_review) as records_in_review
    from events
    group by last_load_id

),

final as (

    select
        loads.load_id,
        loads.file_name,
        loads.source_system,
        loads.status,
        loads.records_read,
        loads.records_loaded,
        loads.records_rejected,
        coalesce(current_versions.records_current, 0) as records_current,
        case
            when loads.is_loaded then loads.records_loaded - coalesce(current_versions.records_current, 0)
            else 0
        end as records_superseded,
        coalesce(current_versions.records_with_company, 0) as records_with_company,
        coalesce(current_versions.records_in_review, 0) as records_in_review
    from loads
    left join current_versions
        on loads.load_id = current_versions.load_id
    where loads.contract = 'calendar_events'

)

select * from final
