{#-
    One row per source record (source_system, source_record_id) with the matching
    decision of the last build that looked at it:
    - 'new company': valid NIP unknown to the CRM; the record creates the company;
    - 'linked': valid NIP of a company the CRM knows (or created in the same build);
    - 'review': cannot be matched safely, see review_reasons.
    Links never move: once linked, company_id/linked_nip stay, even when the record's
    NIP later changes (reason nip_changed) or a duplicate appears.

    This model is the memory of links (which company a record was linked to), which
    cannot be re-derived from the latest raw records once a NIP changed, so it is
    kept on --full-refresh (full_refresh=false). Drop the table to re-match all.

    Incremental: only records deduplicated since the last build, plus the records of
    the same source system sharing an old or new NIP with them (their duplicate status
    may have changed), are decided again.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='contractor_key',
        full_refresh=false,
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'int_contractors_matched_linked_nip_idx', 'columns': ['linked_nip']},
                {'name': 'int_contractors_matched_nip_idx', 'columns': ['source_system', 'nip']},
                {'name': 'int_contractors_matched_company_idx', 'columns': ['company_id']},
                {'name': 'int_contractors_matched_load_idx', 'columns': ['matched_load_id']},
                {'name': 'int_contractors_matched_review_idx', 'columns': ['contractor_key'], 'where': \"decision = 'review'\"},
            ]) }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set watermark = incremental_watermark('matched_load_id') if is_incremental() else 0 %}

with

deduplicated as not materialized (

    select * from {{ ref('int_contractors_deduplicated') }}

),

{% if is_incremental() %}

existing as not materialized (

    select * from {{ this }}

),

{% else %}

existing as (

    {#- Full build: nothing matched yet; same columns as the table, no rows. -#}
    select
        null::text as contractor_key,
        null::text as source_system,
        null::text as nip,
        null::uuid as company_id,
        null::text as linked_nip,
        null::bigint as linked_load_id
    where false

),

{% endif %}

build as (

    select coalesce(max(last_load_id), 0) as build_load_id
    from deduplicated

),

changed as (

    select deduplicated.*
    from deduplicated
    {% if is_incremental() %}
    where
        deduplicated.last_load_id > {{ watermark }}
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

known_nips as (

    select distinct existing.linked_nip as nip
    from existing
    where existing.linked_nip in (select candidates.nip from candidates)

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
        candidates.last_load_id,
        existing.company_id as existing_company_id,
        existing.linked_nip as existing_linked_nip,
        existing.linked_load_id as existing_linked_load_id,
        known_nips.nip is not null as is_known_nip,
        array_remove(
            array[
                case when candidates.nip is null then 'missing_nip' end,
                case
                    when candidates.nip is not null and not candidates.nip_is_valid
                        then 'invalid_nip'
                end,
                case
                    when
                        existing.linked_nip is not null
                        and (candidates.nip is distinct from existing.linked_nip)
                        then 'nip_changed'
                end,
                case when duplicate_nips.nip is not null then 'duplicate_nip_in_source' end
            ],
            null
        ) as review_reason_list
    from candidates
    left join existing
        on candidates.contractor_key = existing.contractor_key
    left join duplicate_nips
        on
            candidates.source_system = duplicate_nips.source_system
            and candidates.nip = duplicate_nips.nip
    left join known_nips
        on candidates.nip = known_nips.nip

),

decided as (

    select
        *,
        case
            when cardinality(review_reason_list) > 0 then 'review'
            when existing_company_id is not null or is_known_nip then 'linked'
            when
                row_number() over (
                    partition by nip, cardinality(review_reason_list) = 0
                    order by load_id asc, record_no asc
                ) = 1
                then 'new company'
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
        decided.last_load_id,
        decided.decision,
        nullif(array_to_string(decided.review_reason_list, ','), '') as review_reasons,
        coalesce(
            decided.existing_company_id,
            case when decided.decision <> 'review' then {{ company_id_from_nip('decided.nip') }} end
        ) as company_id,
        coalesce(
            decided.existing_linked_nip,
            case when decided.decision <> 'review' then decided.nip end
        ) as linked_nip,
        coalesce(
            decided.existing_linked_load_id,
            case when decided.decision <> 'review' then build.build_load_id end
        ) as linked_load_id,
        build.build_load_id as matched_load_id,
        now() as matched_at
    from decided
    cross join build

)

select * from final
