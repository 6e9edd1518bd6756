{#-
    One row per source key of every contract (contract, source_key of int_loaded_records):
    its latest version among the loads the build takes (crm7_build_load_id), in the
    contract's version order: (version_sequence, version_updated_at, load_id, record_no),
    a missing value older than any (only calendar events carry a sequence and a time).
    load_reconciliation counts a load's current and deleted records here, and the rest of
    its built records as superseded.
    Incremental: a build reads only the records of loads above the loads the previous
    build took (audit.crm7_model_watermarks) and keeps, per key, the later of the stored
    version and the newest one read; a stale version (a lower SEQUENCE re-sent) changes
    nothing. The order is total, so any build cadence and a --full-refresh give the same
    rows.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['contract', 'source_key'],
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'int_loaded_records_deduplicated_record_idx', 'columns': ['load_id', 'record_no']},
            ]) }}",
            "{{ crm7_analyze_if_written(this) }}",
            "{{ crm7_save_processed_watermark('(' ~ crm7_build_load_id_sql(ref('stg_raw__loads')) ~ ') as build', 'build_load_id') }}",
        ],
    )
}}

with

records as (

    select * from {{ ref('int_loaded_records') }}

),

new_records as (

    select *
    from records
    where
        load_id > {{ crm7_processed_watermark() }}
        and load_id <= {{ crm7_build_load_id(ref('stg_raw__loads')) }}

),

newest_versions as (

    select distinct on (contract, source_key) *
    from new_records
    order by
        contract asc,
        source_key asc,
        coalesce(version_sequence, -1) desc,
        coalesce(version_updated_at, '-infinity'::timestamptz) desc,
        load_id desc,
        record_no desc

),

{% if is_incremental() %}

stored_versions as (

    select * from {{ this }}

),

later_versions as (

    select newest_versions.*
    from newest_versions
    left join stored_versions
        on
            newest_versions.contract = stored_versions.contract
            and newest_versions.source_key = stored_versions.source_key
    where
        stored_versions.source_key is null
        or (
            coalesce(newest_versions.version_sequence, -1),
            coalesce(newest_versions.version_updated_at, '-infinity'::timestamptz),
            newest_versions.load_id,
            newest_versions.record_no
        ) > (
            coalesce(stored_versions.version_sequence, -1),
            coalesce(stored_versions.version_updated_at, '-infinity'::timestamptz),
            stored_versions.load_id,
            stored_versions.record_no
        )

),

{% else %}

later_versions as (

    select * from newest_versions

),

{% endif %}

final as (

    select
        contract,
        source_key,
        load_id,
        record_no,
        version_sequence,
        version_updated_at,
        is_deleted
    from later_versions

)

select * from final
