{#-
    The current review queue: one row per source record and reason, for every record
    that cannot be matched safely (missing_nip, invalid_nip, nip_changed,
    duplicate_nip_in_source: the record is held) and every value a rule did not take
    (invalid_regon, invalid_phone: the record stays linked). Rebuilt each run from the
    current state of the records, so a problem fixed by a later load leaves the queue.
-#}
with

matched as (

    select * from {{ ref('int_contractors_matched') }}

),

deduplicated as (

    select * from {{ ref('int_contractors_deduplicated') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

contractors as (

    select * from {{ ref('stg_raw__contractors') }}

),

review_reasons as (

    select
        matched.contractor_key,
        matched.company_id,
        matched.linked_nip,
        matched.matched_at,
        unnest(string_to_array(matched.review_reasons, ',')) as reason
    from matched
    where matched.review_reasons is not null

),

final as (

    select
        review_reasons.reason,
        deduplicated.source_system,
        deduplicated.source_record_id,
        latest_versions.name,
        deduplicated.nip_raw,
        deduplicated.nip,
        review_reasons.linked_nip,
        review_reasons.company_id,
        deduplicated.load_id,
        deduplicated.record_no,
        deduplicated.source_line,
        loads.file_name,
        review_reasons.matched_at as detected_at,
        review_reasons.reason in ('invalid_regon', 'invalid_phone') as is_value_not_taken,
        md5(review_reasons.contractor_key || '|' || review_reasons.reason) as review_id
    from review_reasons
    inner join deduplicated
        on review_reasons.contractor_key = deduplicated.contractor_key
    -- The record as its latest version says (a record held for nip_changed keeps its
    -- values out of the company; the reviewer sees what the source sends now).
    inner join contractors as latest_versions
        on
            deduplicated.load_id = latest_versions.load_id
            and deduplicated.record_no = latest_versions.record_no
    left join loads
        on deduplicated.load_id = loads.load_id

)

select * from final
