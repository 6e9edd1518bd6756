{{ config(materialized='view') }}

{#-
    One row per company and email: the union over the company's source records (the
    records crm.companies takes its values from: linked, not deleted, or all when every
    one is), with the records that have it.
-#}
with

deduplicated as (

    select * from {{ ref('int_contractors_deduplicated') }}

),

linked_records as (

    select
        deduplicated.*,
        bool_or(not deduplicated.is_deleted) over (partition by deduplicated.linked_nip) as has_active_records
    from deduplicated
    where deduplicated.linked_nip is not null

),

record_emails as (

    select
        {{ company_id_from_nip('linked_records.linked_nip') }} as company_id,
        record_items.email as email_value,
        linked_records.source_system,
        linked_records.source_system || ':' || linked_records.source_record_id as source_record
    from linked_records
    cross join lateral unnest(linked_records.emails) as record_items (email)
    where not linked_records.is_deleted or not linked_records.has_active_records

),

final as (

    select
        company_id,
        email_value as email,
        array_agg(distinct source_system order by source_system) as source_systems,
        array_agg(distinct source_record order by source_record) as source_records
    from record_emails
    group by company_id, email_value

)

select * from final
