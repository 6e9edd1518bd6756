{#-
    The invoices' review queue: one row per record and reason. The invoice stays in
    crm.invoices either way; this view says what is wrong with it, with file and line.
    Reasons: a counterparty that does not resolve to a company (unresolved_counterparty)
    or that has no id to resolve by (counterparty_not_identified: no sourceId, NIP or
    Polish EU VAT number); a currency, payment form, VAT rate or unit no dictionary
    knows; a foreign currency without an exchange rate; a correction whose chain does
    not end at an original; a line's product crm7 does not know. A view: it always
    reflects the current state; its import CTEs are not materialized, so each check
    reads only its rows (partial indexes).
-#}
{{ config(materialized='view') }}

with

invoices as not materialized (

    select * from {{ ref('invoices') }}

),

invoice_lines as not materialized (

    select * from {{ ref('invoice_lines') }}

),

counterparty_issues as (

    select
        'invoice' as entity,
        invoice_key as record_key,
        invoice_key,
        source_system,
        source_record_id as record_ref,
        case
            when counterparty_status = 'unresolved' then 'unresolved_counterparty'
            else 'counterparty_not_identified'
        end as reason,
        coalesce(
            counterparty_source_id,
            counterparty_nip,
            case when counterparty_role = 'buyer' then coalesce(buyer_eu_vat_id, buyer_other_id) end,
            case when counterparty_role = 'seller' then coalesce(seller_eu_vat_id, seller_other_id) end,
            counterparty_name
        ) as code,
        load_id,
        record_no,
        source_line,
        file_name
    from invoices
    where counterparty_status in ('unresolved', 'not_identified')

),

currency_issues as (

    select
        'invoice' as entity,
        invoice_key as record_key,
        invoice_key,
        source_system,
        source_record_id as record_ref,
        case when currency is null then 'unknown_currency' else 'missing_exchange_rate' end as reason,
        currency_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from invoices
    where currency is null or exchange_rate is null

),

payment_form_issues as (

    select
        'invoice' as entity,
        invoice_key as record_key,
        invoice_key,
        source_system,
        source_record_id as record_ref,
        'unknown_payment_form' as reason,
        payment_form_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from invoices
    where payment_form_code is not null and payment_form is null

),

chain_issues as (

    select
        'invoice' as entity,
        invoice_key as record_key,
        invoice_key,
        source_system,
        source_record_id as record_ref,
        correction_chain_status as reason,
        coalesce(corrected_invoice_source_id, corrected_invoice_number) as code,
        load_id,
        record_no,
        source_line,
        file_name
    from invoices
    where correction_chain_status <> 'ok'

),

line_issues as (

    select
        'invoice_line' as entity,
        invoice_lines.line_id as record_key,
        invoice_lines.invoice_key,
        invoice_lines.source_system,
        invoices.source_record_id || ':' || invoice_lines.line_no::text as record_ref,
        issues.reason,
        issues.code,
        invoices.load_id,
        invoices.record_no,
        invoice_lines.source_line,
        invoices.file_name
    from invoice_lines
    inner join invoices
        on invoice_lines.invoice_key = invoices.invoice_key
    cross join
        lateral (
            values
            ('unknown_vat_rate', invoice_lines.vat_rate_code, invoice_lines.vat_rate is null),
            (
                'unknown_unit',
                invoice_lines.unit_code,
                invoice_lines.unit_code is not null and invoice_lines.unit is null
            ),
            (
                'unresolved_product',
                invoice_lines.product_source_id,
                invoice_lines.product_source_id is not null and not invoice_lines.is_product_known
            )
        ) as issues (reason, code, is_issue)
    where
        (
            invoice_lines.vat_rate is null
            or (invoice_lines.unit_code is not null and invoice_lines.unit is null)
            or (invoice_lines.product_source_id is not null and not invoice_lines.is_product_known)
        )
        and issues.is_issue

),

unioned as (

    select * from counterparty_issues
    union all
    select * from currency_issues
    union all
    select * from payment_form_issues
    union all
    select * from chain_issues
    union all
    select * from line_issues

),

final as (

    select
        unioned.*,
        md5(unioned.entity || '|' || unioned.record_key || '|' || unioned.reason) as review_id
    from unioned

)

select * from final
