{#-
    One row per ended 'loaded' load: the records it holds in raw (int_loaded_records), for
    load_reconciliation to check against what the loader says it loaded. A load's raw rows
    never change once it has ended, so each load is counted once.
    Incremental: a build counts the loaded loads above max(load_id) and below the first
    load still running (load_window_upper_bound): every load below such a load has ended.
    A load with no record (every record rejected) gets a row with 0.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='load_id',
        on_schema_change='append_new_columns',
    )
}}

{%- set counted_load_id = incremental_watermark('load_id') if is_incremental() else 0 %}

with

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

records as (

    select * from {{ ref('int_loaded_records') }}

),

new_loads as (

    select load_id
    from loads
    where
        is_loaded
        and load_id > {{ counted_load_id }}
        and load_id < {{ load_window_upper_bound('loads') }}

),

new_records as (

    select load_id
    from records
    where load_id > {{ counted_load_id }}

),

per_load as (

    select
        load_id,
        count(*) as records_counted
    from new_records
    group by load_id

),

final as (

    select
        new_loads.load_id,
        coalesce(per_load.records_counted, 0)::bigint as records_counted
    from new_loads
    left join per_load
        on new_loads.load_id = per_load.load_id

)

select * from final
