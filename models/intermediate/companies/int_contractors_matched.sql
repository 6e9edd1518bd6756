{#-
    One row per source record (source_system, source_record_id) with its matching
    decision, a function of the current state of the source records only (so the same
    whatever the build cadence):
    - the record is linked to the company of its linked_nip (the first valid NIP it
      ever had, int_contractors_deduplicated), for ever;
    - review_reasons: missing_nip, invalid_nip, nip_changed (the current NIP is not
      the link's), duplicate_nip_in_source (another record of the same source system,
      not deleted, has the same valid NIP), which hold the record for review
      (decision 'review'); invalid_regon and invalid_phone, which only report a value
      that was not taken (the record stays linked);
    - 'new company': the first record (by linked_version) linked to its company;
      'linked': any other linked record.

    Incremental: only records whose state changed since the last build (changed_load_id;
    a re-sent, unchanged record is not decided again), plus the records of the
    same source system sharing a NIP or a linked NIP with them (their duplicate status
    or the company's first record may have changed), are decided again.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='contractor_key',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'int_contractors_matched_linked_nip_idx', 'columns': ['linked_nip']},
                {'name': 'int_contractors_matched_nip_idx', 'columns': ['source_system', 'nip']},
                {'name': 'int_contractors_matched_company_idx', 'columns': ['company_id']},
                {'name': 'int_contractors_matched_load_idx', 'columns': ['matched_load_id']},
                {'name': 'int_contractors_matched_review_idx', 'columns': ['contractor_key'], 'where': \"review_reasons is not null\"},
            ]) }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set watermark = incremental_watermark('matched_load_id') if is_incremental() else 0 %}
{%- set blocking_reasons = ['missing_nip', 'invalid_nip', 'nip_changed', 'duplicate_nip_in_source'] %}
{%- set blocking_reasons_array = "array['" ~ blocking_reasons | join("', '") ~ "']::text[]" %}

with

deduplicated as not materialized (

    select * from {{ ref('int_contractors_deduplicated') }}

),

{% if is_incremental() %}

existing as not materialized (

    select * from {{ this }}

),

{% endif %}

build as (

    select coalesce(max(changed_load_id), 0) as build_load_id
    from deduplicated

),

changed as (

    select deduplicated.*
    from deduplicated
    {% if is_incremental() %}
    where
        deduplicated.changed_load_id > {{ watermark }}
    {% endif %}

),

{% if is_incremental() %}

touched_nips as (

    select
        source_system,
        nip
    from changed
    where nip is not null

    union

    select
        existing.source_system,
        existing.nip
    from existing
    inner join changed
        on existing.contractor_key = changed.contractor_key
    where existing.nip is not null

),

touched_linked_nips as (

    select distinct linked_nip
    from changed
    where linked_nip is not null

),

reevaluated as (

    select deduplicated.*
    from deduplicated
    inner join touched_nips
        on
            deduplicated.source_system = touched_nips.source_system
            and deduplicated.nip = touched_nips.nip
    left join changed
        on deduplicated.contractor_key = changed.contractor_key
    where changed.contractor_key is null

    union

    select deduplicated.*
    from deduplicated
    inner join touched_linked_nips
        on deduplicated.linked_nip = touched_linked_nips.linked_nip
    left join changed
        on deduplicated.contractor_key = changed.contractor_key
    where changed.contractor_key is null

),

candidates as (

    select * from changed
    union all
    select * from reevaluated

),

{% else %}

candidates as (

    select * from changed

),

{% endif %}

candidate_nips as (

    select distinct
        source_system,
        nip
    from candidates
    where nip_is_valid and not is_deleted

),

duplicate_nips as (

    select
        deduplicated.source_system,
        deduplicated.nip
    from deduplicated
    inner join candidate_nips
        on
            deduplicated.source_system = candidate_nips.source_system
            and deduplicated.nip = candidate_nips.nip
    where deduplicated.nip_is_valid and not deduplicated.is_deleted
    group by deduplicated.source_system, deduplicated.nip
    having count(*) > 1

),

-- The first record linked to each company: it created the company.
company_first_records as (

    select distinct on (deduplicated.linked_nip)
        deduplicated.linked_nip,
        deduplicated.contractor_key
    from deduplicated
    where deduplicated.linked_nip in (select candidates.linked_nip from candidates)
    order by deduplicated.linked_nip asc, deduplicated.linked_version asc, deduplicated.contractor_key asc

),

reasoned as (

    select
        candidates.contractor_key,
        candidates.source_system,
        candidates.source_record_id,
        candidates.nip,
        candidates.nip_is_valid,
        candidates.is_deleted,
        candidates.load_id,
        candidates.record_no,
        candidates.changed_load_id,
        candidates.linked_nip,
        candidates.linked_load_id,
        company_first_records.contractor_key is not null as is_first_record,
        array_remove(
            array[
                case when candidates.nip is null then 'missing_nip' end,
                case
                    when candidates.nip is not null and not candidates.nip_is_valid
                        then 'invalid_nip'
                end,
                case
                    when
                        candidates.linked_nip is not null
                        and (candidates.nip is distinct from candidates.linked_nip)
                        then 'nip_changed'
                end,
                case when duplicate_nips.nip is not null then 'duplicate_nip_in_source' end,
                case when candidates.has_invalid_regon then 'invalid_regon' end,
                case
                    when candidates.has_invalid_phone or candidates.has_invalid_fax
                        then 'invalid_phone'
                end
            ],
            null
        ) as review_reason_list
    from candidates
    left join duplicate_nips
        on
            candidates.source_system = duplicate_nips.source_system
            and candidates.nip = duplicate_nips.nip
    left join company_first_records
        on candidates.contractor_key = company_first_records.contractor_key

),

decided as (

    select
        *,
        case
            when review_reason_list && {{ blocking_reasons_array }} then 'review'
            when is_first_record then 'new company'
            else 'linked'
        end as decision
    from reasoned

),

final as (

    select
        decided.contractor_key,
        decided.source_system,
        decided.source_record_id,
        decided.nip,
        decided.nip_is_valid,
        decided.is_deleted,
        decided.load_id,
        decided.record_no,
        decided.changed_load_id,
        decided.decision,
        nullif(array_to_string(decided.review_reason_list, ','), '') as review_reasons,
        case
            when decided.linked_nip is not null then {{ company_id_from_nip('decided.linked_nip') }}
        end as company_id,
        decided.linked_nip,
        decided.linked_load_id,
        build.build_load_id as matched_load_id,
        now() as matched_at
    from decided
    cross join build

)

select * from final
