{#-
    One row per raw.loads row, every contract: what the loader read and rejected, and
    what became of each loaded record, counted once as:
    - not yet built: its load is above the build watermark (int_load_build_watermark);
    - current / deleted: it is the latest built version of its source key
      (int_loaded_records_deduplicated), not deleted / marking the key deleted;
    - superseded: the other records of a built load (a later version of their key is in
      a built load);
    - in review (a subset of current): a domain's review mart has a row about it.
    A load's records are counted in raw once it has ended (int_loads_counted); a load
    that ended after the last build is counted here, from raw as it is now, so it shows
    at once as not yet built. read = rejected + current + superseded + deleted + not yet
    built (a data test): the loader's counts against the rows raw holds. A load that did
    not end loaded (running, failed, skipped) has no records: all zero.
-#}
{{ config(materialized='view') }}

with

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

counted_loads as (

    select * from {{ ref('int_loads_counted') }}

),

records as (

    select * from {{ ref('int_loaded_records') }}

),

latest_versions as (

    select * from {{ ref('int_loaded_records_deduplicated') }}

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

-- What raw holds of every loaded load: counted once it ended, or counted now.
loaded_records as (

    select
        loads.load_id,
        coalesce(counted_loads.records_counted, uncounted.records_counted) as records_counted
    from loads
    left join counted_loads
        on loads.load_id = counted_loads.load_id
    left join
        lateral (
            select count(*) as records_counted
            from records
            where
                records.load_id = loads.load_id
                and counted_loads.load_id is null
        ) as uncounted
        on true
    where loads.is_loaded

),

latest_per_load as (

    select
        load_id,
        count(*) filter (where not is_deleted) as records_current,
        count(*) filter (where is_deleted) as records_deleted
    from latest_versions
    group by load_id

),

review_per_load as (

    select
        latest_versions.load_id,
        count(*) as records_in_review
    from in_review
    inner join latest_versions
        on
            in_review.load_id = latest_versions.load_id
            and in_review.record_no = latest_versions.record_no
    where not latest_versions.is_deleted
    group by latest_versions.load_id

),

per_load as (

    select
        loaded_records.load_id,
        loaded_records.records_counted,
        loaded_records.load_id <= build.build_load_id as is_built,
        coalesce(latest_per_load.records_current, 0) as records_current,
        coalesce(latest_per_load.records_deleted, 0) as records_deleted,
        coalesce(review_per_load.records_in_review, 0) as records_in_review
    from loaded_records
    cross join build
    left join latest_per_load
        on loaded_records.load_id = latest_per_load.load_id
    left join review_per_load
        on loaded_records.load_id = review_per_load.load_id

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
        coalesce(per_load.is_built, false) as is_built,
        case when loads.is_loaded then coalesce(loads.records_read, 0) else 0 end::bigint as records_read,
        case when loads.is_loaded then coalesce(loads.records_loaded, 0) else 0 end::bigint as records_loaded,
        case when loads.is_loaded then coalesce(loads.records_rejected, 0) else 0 end::bigint as records_rejected,
        case when per_load.is_built then per_load.records_current else 0 end::bigint as records_current,
        case
            when per_load.is_built
                then per_load.records_counted - per_load.records_current - per_load.records_deleted
            else 0
        end::bigint as records_superseded,
        case when per_load.is_built then per_load.records_deleted else 0 end::bigint as records_deleted,
        case when not per_load.is_built then per_load.records_counted else 0 end::bigint as records_not_yet_built,
        case when per_load.is_built then per_load.records_in_review else 0 end::bigint as records_in_review
    from loads
    left join per_load
        on loads.load_id = per_load.load_id

)

select * from final
