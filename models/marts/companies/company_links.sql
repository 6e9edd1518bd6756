{#-
    One row per source record (source_system, source_record_id) linked to a company:
    the company of the first valid NIP the record ever had. A link never moves to
    another company; it stays when the record goes to review (is_in_review).
    first_load_id / last_load_id: the first and last load that contained the record.
    Incremental: the records decided since the last build (audit.crm7_model_watermarks
    keeps how far it read); only links whose load or flags changed reach the MERGE.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='link_id',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'company_links_company_idx', 'columns': ['company_id']},
                {'name': 'company_links_last_load_idx', 'columns': ['last_load_id']},
            ]) }}",
            "{{ crm7_analyze_if_written(this) }}",
            "{{ crm7_save_processed_watermark(ref('int_contractors_matched'), 'matched_load_id', 'matched') }}",
            "{{ crm7_save_processed_watermark(ref('int_contractors_deduplicated'), 'last_load_id', 'deduplicated') }}",
        ],
    )
}}

{%- set matched_watermark = crm7_processed_watermark('matched') %}
{%- set deduplicated_watermark = crm7_processed_watermark('deduplicated') %}

with

matched as not materialized (

    select * from {{ ref('int_contractors_matched') }}

),

deduplicated as not materialized (

    select * from {{ ref('int_contractors_deduplicated') }}

),

{% if is_incremental() %}

existing as not materialized (

    select * from {{ this }}

),

{% else %}

existing as (

    {#- Full build: no links yet; same columns as the table, no rows. -#}
    select
        null::text as link_id,
        null::uuid as company_id,
        null::bigint as last_load_id,
        null::boolean as is_deleted,
        null::boolean as is_in_review,
        null::timestamptz as linked_at
    where false

),

{% endif %}

-- The records decided again or loaded again since the last build (each by its index).
touched_records as (

    select matched.contractor_key
    from matched
    where matched.matched_load_id > {{ matched_watermark }}

    union

    select deduplicated.contractor_key
    from deduplicated
    where deduplicated.last_load_id > {{ deduplicated_watermark }}

),

linked_records as (

    select
        matched.contractor_key as link_id,
        matched.source_system,
        matched.source_record_id,
        matched.company_id,
        matched.linked_nip as nip,
        deduplicated.first_load_id,
        deduplicated.last_load_id,
        deduplicated.is_deleted,
        matched.linked_load_id,
        matched.decision = 'review' as is_in_review
    from touched_records
    inner join matched
        on touched_records.contractor_key = matched.contractor_key
    inner join deduplicated
        on touched_records.contractor_key = deduplicated.contractor_key
    where matched.company_id is not null

),

final as (

    select
        linked_records.link_id,
        linked_records.source_system,
        linked_records.source_record_id,
        linked_records.company_id,
        linked_records.nip,
        linked_records.first_load_id,
        linked_records.last_load_id,
        linked_records.is_deleted,
        linked_records.is_in_review,
        linked_records.linked_load_id,
        coalesce(existing.linked_at, now()) as linked_at,
        now() as updated_at
    from linked_records
    left join existing
        on linked_records.link_id = existing.link_id
    where
        existing.link_id is null
        or existing.company_id is distinct from linked_records.company_id
        or existing.last_load_id is distinct from linked_records.last_load_id
        or existing.is_deleted is distinct from linked_records.is_deleted
        or existing.is_in_review is distinct from linked_records.is_in_review

)

select * from final
