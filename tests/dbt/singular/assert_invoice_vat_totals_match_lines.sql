-- Per VAT rate: a total whose gross is not net + VAT, or whose net or VAT differs from
-- the sum of that rate's lines by more than rounding allows (0.01 plus 0.005 per line),
-- and a rate with lines but no total on an invoice that sends totals. Only the current
-- version of each invoice. Warn: the invoice is kept; the rows stay in audit.
{{ config(severity='warn') }}

with

invoices as (

    select * from {{ ref('invoices') }}

),

vat_totals as (

    select * from {{ ref('stg_raw__invoice_vat_totals') }}

),

invoice_lines as (

    select * from {{ ref('invoice_lines') }}

),

current_totals as (

    select
        invoices.invoice_key,
        vat_totals.vat_rate_code,
        sum(vat_totals.net_amount) as net_amount,
        sum(vat_totals.vat_amount) as vat_amount,
        sum(vat_totals.gross_amount) as gross_amount
    from invoices
    inner join vat_totals
        on
            invoices.load_id = vat_totals.load_id
            and invoices.record_no = vat_totals.record_no
    where invoices.vat_total_count > 0
    group by invoices.invoice_key, vat_totals.vat_rate_code

),

line_totals as (

    select
        invoice_lines.invoice_key,
        invoice_lines.vat_rate_code,
        count(*) as line_count,
        sum(invoice_lines.net_amount) as net_amount,
        sum(invoice_lines.vat_amount) as vat_amount
    from invoice_lines
    where invoice_lines.invoice_key in (select current_totals.invoice_key from current_totals)
    group by invoice_lines.invoice_key, invoice_lines.vat_rate_code

),

compared as (

    select
        current_totals.net_amount as total_net,
        current_totals.vat_amount as total_vat,
        current_totals.gross_amount as total_gross,
        line_totals.net_amount as lines_net,
        line_totals.vat_amount as lines_vat,
        coalesce(current_totals.invoice_key, line_totals.invoice_key) as invoice_key,
        coalesce(current_totals.vat_rate_code, line_totals.vat_rate_code) as vat_rate_code,
        case
            when current_totals.invoice_key is null then 'rate_without_total'
            when abs(current_totals.gross_amount - (current_totals.net_amount + current_totals.vat_amount)) > 0.01
                then 'gross_is_not_net_plus_vat'
            when line_totals.invoice_key is null then 'total_without_lines'
            when
                abs(current_totals.net_amount - line_totals.net_amount) > 0.01 + 0.005 * line_totals.line_count
                or abs(current_totals.vat_amount - line_totals.vat_amount) > 0.01 + 0.005 * line_totals.line_count
                then 'total_differs_from_lines'
        end as problem
    from current_totals
    full outer join line_totals
        on
            current_totals.invoice_key = line_totals.invoice_key
            and current_totals.vat_rate_code = line_totals.vat_rate_code

),

final as (

    select
        invoices.source_system,
        invoices.source_record_id,
        invoices.invoice_number,
        invoices.file_name,
        invoices.source_line,
        compared.vat_rate_code,
        compared.problem,
        compared.total_net,
        compared.total_vat,
        compared.total_gross,
        compared.lines_net,
        compared.lines_vat
    from compared
    inner join invoices
        on compared.invoice_key = invoices.invoice_key
    where compared.problem is not null

)

select * from final
