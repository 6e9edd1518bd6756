-- Nothing is silently merged or dropped: every latest source record is either linked
-- to a company (company_links, not in review) or waiting in contractor_review.
with

deduplicated as (

    select * from {{ ref('int_contractors_deduplicated') }}

),

links as (

    select * from {{ ref('company_links') }}

),

review as (

    select * from {{ ref('contractor_review') }}

),

reviewed_records as (

    select distinct
        source_system,
        source_record_id
    from review

),

final as (

    select
        deduplicated.contractor_key,
        deduplicated.source_system,
        deduplicated.source_record_id
    from deduplicated
    left join links
        on
            deduplicated.contractor_key = links.link_id
            and not links.is_in_review
    left join reviewed_records
        on
            deduplicated.source_system = reviewed_records.source_system
            and deduplicated.source_record_id = reviewed_records.source_record_id
    where
        (links.link_id is null and reviewed_records.source_record_id is null)
        or (links.link_id is not null and reviewed_records.source_record_id is not null)

)

select * from final
