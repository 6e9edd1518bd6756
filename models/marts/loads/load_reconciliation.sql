{#-
    One row per raw.loads row, every contract: what the loader read and rejected, and
    what became of each loaded record, counted record by record:
    - not yet built: its load is above the build watermark (int_load_build_watermark);
    - superseded: a later version of the same source key (int_loaded_records: contract
      and source key, version order) exists in a built load;
    - deleted: the latest built version of its key, marking the key deleted;
    - current: the latest built version, not deleted; in review when a domain's review
      mart has a row about it (a subset of current).
    read = rejected + current + superseded + deleted + not yet built (a data test). A
    load that did not end loaded (running, failed, skipped) has no records: all zero.
-#}
{{ config(materialized='view') }}

with

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

records as (

    select * from {{ ref('int_loaded_records') }}

),

in_review as (

    select * from {{ ref('int_records_in_review') }}

),

watermark as (

    select * from {{ ref('int_load_build_watermark') }}

),

build as (

    select coalesce(max(build_load_id), 0) as build_load_id
    from watermark

),

built_records as (

    select records.*
    from records
    cross join build
    where records.load_id <= build.build_load_id

),

-- The latest built version of each source key.
latest_versions as (

    select distinct on (contract, source_key)
        load_id,
        record_no,
        is_deleted
    from built_records
    order by
        contract asc,
        source_key asc,
        coalesce(version_sequence, -1) desc,
        coalesce(version_updated_at, '-infinity'::timestamptz) desc,
        load_id desc,
        record_no desc

),

classified as (

    select
        records.load_id,
        case
            when records.load_id > build.build_load_id then 'not_yet_built'
            when latest_versions.load_id is null then 'superseded'
            when latest_versions.is_deleted then 'deleted'
            else 'current'
        end as outcome,
        in_review.load_id is not null as is_in_review
    from records
    cross join build
    left join latest_versions
        on
            records.load_id = latest_versions.load_id
            and records.record_no = latest_versions.record_no
    left join in_review
        on
            records.load_id = in_review.load_id
            and records.record_no = in_review.record_no

),

per_load as (

    select
        load_id,
        count(*) filter (where outcome = 'current') as records_current,
        count(*) filter (where outcome = 'superseded') as records_superseded,
        count(*) filter (where outcome = 'deleted') as records_deleted,
        count(*) filter (where outcome = 'not_yet_built') as records_not_yet_built,
        count(*) filter (where outcome = 'current' and is_in_review) as records_in_review
    from classified
    group by load_id

),

final as (

    select
        loads.load_id,
        loads.file_name,
        loads.source_system,
        loads.contract,
        loads.status,
        loads.duplicate_of_load_id,
        loads.started_at,
        loads.finished_at,
        loads.is_loaded and loads.load_id <= build.build_load_id as is_built,
        case when loads.is_loaded then coalesce(loads.records_read, 0) else 0 end::bigint as records_read,
        case when loads.is_loaded then coalesce(loads.records_loaded, 0) else 0 end::bigint as records_loaded,
        case when loads.is_loaded then coalesce(loads.records_rejected, 0) else 0 end::bigint as records_rejected,
        coalesce(per_load.records_current, 0)::bigint as records_current,
        coalesce(per_load.records_superseded, 0)::bigint as records_superseded,
        coalesce(per_load.records_deleted, 0)::bigint as records_deleted,
        coalesce(per_load.records_not_yet_built, 0)::bigint as records_not_yet_built,
        coalesce(per_load.records_in_review, 0)::bigint as records_in_review
    from loads
    cross join build
    left join per_load
        on loads.load_id = per_load.load_id

)

select * from final
