-- depends_on: {{ ref('int_contractors_matched') }}
-- Nothing is silently merged or dropped: every latest source record is either linked
-- to a company (company_links, not in review) or waiting in contractor_review.
-- Checked for the records whose deduplicated, matched or link row was written since the
-- last all-green build (see macros/testing/scoped_tests.sql): the review queue is derived from
-- the matched rows, so a record none of those rows changed for still passes.
{%- set watermarks = {
    'deduplicated': crm7_tested_watermark('int_contractors_deduplicated'),
    'matched': crm7_tested_watermark('int_contractors_matched'),
    'links': crm7_tested_watermark('company_links'),
} if execute else {'deduplicated': 0, 'matched': 0, 'links': 0} %}
{%- set scoped = watermarks.values() | min > 0 %}
with

deduplicated as not materialized (

    select * from {{ ref('int_contractors_deduplicated') }}

),

{%- if scoped %}

matched as not materialized (

    select * from {{ ref('int_contractors_matched') }}

),
{%- endif %}

links as not materialized (

    select * from {{ ref('company_links') }}

),

review as (

    select * from {{ ref('contractor_review') }}

),

changed_records as (

    {%- if scoped %}
    select deduplicated.contractor_key
    from deduplicated
    where deduplicated.last_load_id > {{ watermarks.deduplicated }}
    union
    select matched.contractor_key
    from matched
    where matched.matched_load_id > {{ watermarks.matched }}
    union
    select links.link_id as contractor_key
    from links
    where links.last_load_id > {{ watermarks.links }}
    {%- else %}
    select deduplicated.contractor_key
    from deduplicated
    {%- endif %}

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
    from changed_records
    inner join deduplicated
        on changed_records.contractor_key = deduplicated.contractor_key
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
