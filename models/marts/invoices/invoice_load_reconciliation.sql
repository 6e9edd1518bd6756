{#-
    One row per invoices load: what the loader read, loaded and rejected, and what
    became of each loaded record, counted record by record against the current version
    of its invoice: current (in crm.invoices), deleted (the latest version deletes the
    invoice) or superseded (a later version, in this file or a later one, replaced it).
    read = rejected + current + deleted + superseded, checked. Of the current ones: how
    many have a company and how many are in crm.invoice_review.
-#}
{{ config(materialized='view') }}

with

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

records as (

    select * from {{ ref('stg_raw__invoices') }}

),

deduplicated as (

    select * from {{ ref('int_invoices_deduplicated') }}

),

invoices as (

    select * from {{ ref('invoices') }}

),

review as (

    select * from {{ ref('invoice_review') }}

),

record_outcomes as (

    select
        records.load_id,
        records.invoice_key,
        case
            when
                deduplicated.last_load_id = records.load_id
                and deduplicated.record_no = records.record_no
                and deduplicated.is_deleted
                then 'deleted'
            when
                deduplicated.last_load_id = records.load_id
                and deduplicated.record_no = records.record_no
                then 'current'
            else 'superseded'
        end as outcome
    from records
    left join deduplicated
        on records.invoice_key = deduplicated.invoice_key

),

reviewed_invoices as (

    select distinct review.invoice_key
    from review

),

per_load as (

    select
        record_outcomes.load_id,
        count(*) filter (where record_outcomes.outcome = 'current') as records_current,
        count(*) filter (where record_outcomes.outcome = 'deleted') as records_deleted,
        count(*) filter (where record_outcomes.outcome = 'superseded') as records_superseded,
        count(invoices.company_id) filter (where record_outcomes.outcome = 'current') as records_with_company,
        count(reviewed_invoices.invoice_key) filter (where record_outcomes.outcome = 'current')
            as records_in_review
    from record_outcomes
    left join invoices
        on record_outcomes.invoice_key = invoices.invoice_key
    left join reviewed_invoices
        on record_outcomes.invoice_key = reviewed_invoices.invoice_key
    group by record_outcomes.load_id

),

final as (

    select
        loads.load_id,
        loads.file_name,
        loads.source_system,
        loads.status,
        loads.records_read,
        loads.records_loaded,
        loads.records_rejected,
        coalesce(per_load.records_current, 0) as records_current,
        coalesce(per_load.records_deleted, 0) as records_deleted,
        coalesce(per_load.records_superseded, 0) as records_superseded,
        coalesce(per_load.records_with_company, 0) as records_with_company,
        coalesce(per_load.records_in_review, 0) as records_in_review
    from loads
    left join per_load
        on loads.load_id = per_load.load_id
    where loads.contract = 'invoices'

)

select * from final
