{#-
    One row per load: what the loader read, loaded and rejected, and what became of
    the loaded records that are still the latest version of their source record
    (linked to a company or waiting in review). Superseded records were replaced by a
    later version of the same source record, or repeated an earlier version unchanged.
-#}
{{ config(materialized='view') }}

with

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

-- Not materialized: the build watermark then reads the index on matched_load_id, and a
-- query that needs no outcome columns (e.g. its key test) skips the aggregate.
matched as not materialized (

    select * from {{ ref('int_contractors_matched') }}

),

build as (

    select coalesce(max(matched_load_id), 0) as build_load_id
    from matched

),

record_outcomes as (

    select
        load_id,
        count(*) as records_current,
        count(*) filter (where decision in ('new company', 'linked')) as records_linked,
        count(*) filter (where decision = 'new company') as records_new_company,
        count(*) filter (where decision = 'review') as records_in_review
    from matched
    group by load_id

),

final as (

    select
        loads.load_id,
        loads.file_name,
        loads.source_system,
        loads.contract,
        loads.status,
        loads.started_at,
        loads.finished_at,
        loads.records_read,
        loads.records_loaded,
        loads.records_rejected,
        loads.is_loaded and loads.load_id <= build.build_load_id as is_processed,
        coalesce(record_outcomes.records_current, 0) as records_current,
        case
            when loads.is_loaded
                then loads.records_loaded - coalesce(record_outcomes.records_current, 0)
            else 0
        end as records_superseded,
        coalesce(record_outcomes.records_linked, 0) as records_linked,
        coalesce(record_outcomes.records_new_company, 0) as records_new_company,
        coalesce(record_outcomes.records_in_review, 0) as records_in_review
    from loads
    cross join build
    left join record_outcomes
        on loads.load_id = record_outcomes.load_id

)

select * from final
