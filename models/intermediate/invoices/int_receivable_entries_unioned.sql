{#-
    Every entry that moves a receivable, in PLN: each sales invoice (original) and each
    of its corrections on its issue date (gross and net, signed as sent), and each
    payment against any document of the chain on its payment date (negative). Keyed to
    the original invoice, its company and its due date, so that a balance "as of" any
    day is a sum over entries up to that day. Pro forma invoices, purchase invoices,
    corrections whose chain does not end at an original, and documents without an
    exchange rate are left out (the latter two are in crm.invoice_review).
-#}
{{ config(materialized='view') }}

with

invoices as (

    select * from {{ ref('invoices') }}

),

payments as (

    select * from {{ ref('invoice_payments') }}

),

originals as (

    select
        invoices.invoice_key as original_invoice_key,
        invoices.source_system,
        invoices.company_id,
        invoices.issue_date as original_issue_date,
        invoices.due_date
    from invoices
    where
        not invoices.is_correction
        and invoices.direction = 'sales'
        and invoices.invoice_kind <> 'PRO'

),

documents as (

    select
        originals.*,
        invoices.invoice_key,
        invoices.is_correction,
        invoices.issue_date,
        invoices.total_net_pln,
        invoices.total_gross_pln
    from originals
    inner join invoices
        on originals.original_invoice_key = invoices.original_invoice_key

),

document_entries as (

    select
        documents.original_invoice_key,
        documents.source_system,
        documents.company_id,
        documents.original_issue_date,
        documents.due_date,
        documents.invoice_key,
        case when documents.is_correction then 'correction' else 'invoice' end as entry_type,
        documents.issue_date as entry_date,
        documents.total_gross_pln as gross_pln,
        documents.total_net_pln as net_pln
    from documents
    where documents.total_gross_pln is not null

),

payment_entries as (

    select
        documents.original_invoice_key,
        documents.source_system,
        documents.company_id,
        documents.original_issue_date,
        documents.due_date,
        documents.invoice_key,
        'payment' as entry_type,
        payments.payment_date as entry_date,
        -payments.amount_pln as gross_pln,
        0::numeric as net_pln
    from documents
    inner join payments
        on documents.invoice_key = payments.invoice_key
    where payments.amount_pln is not null

),

final as (

    select * from document_entries
    union all
    select * from payment_entries

)

select * from final
