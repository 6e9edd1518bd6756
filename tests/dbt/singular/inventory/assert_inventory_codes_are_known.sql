-- Every code in the inventory data that no dictionary knows (reasons unknown_*),
-- named with its record, file and line
-- (warn: the records are kept and listed in crm.inventory_review; the rows stay in audit).
{{ config(severity='warn') }}

with

review as (

    select * from {{ ref('inventory_review') }}

),

final as (

    select
        entity,
        reason,
        code,
        source_system,
        record_ref,
        file_name,
        source_line
    from review
    where reason not like 'unresolved\_%'

)

select * from final
