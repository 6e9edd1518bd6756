{{ config(materialized='view') }}

{#-
    One row per company and phone: the union over the company's source records (the
    records crm.companies takes its values from: linked, not deleted, or all when every
    one is), with the records that have it.
-#}
with

deduplicated as (

    select * from {{ ref('int_contractors_deduplicated') }}

),

record_phones as (

    {{ crm7_company_record_items('deduplicated', 'phones') }}

),

final as (

    select
        company_id,
        split_part(item_value, ';ext=', 1) as phone,
        nullif(split_part(item_value, ';ext=', 2), '') as phone_extension,
        array_agg(distinct source_system order by source_system) as source_systems,
        array_agg(distinct source_record order by source_record) as source_records
    from record_phones
    group by company_id, item_value

)

select * from final
