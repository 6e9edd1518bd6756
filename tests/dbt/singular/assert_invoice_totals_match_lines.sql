-- Invoice header totals that differ from the sum of the invoice's lines (net, VAT,
-- gross) or from the sum of its per-rate totals by more than rounding allows: 0.01,
-- plus 0.005 per line (VAT computed on a rate's total, as KSeF allows, may differ from
-- the sum of rounded line VAT by half a grosz per line). Invoices without lines are
-- not checked against lines. Warn: the invoice is kept; the rows stay in audit.
{{ config(severity='warn') }}

with

invoices as (

    select * from {{ ref('invoices') }}

),

compared as (

    select
        source_system,
        source_record_id,
        invoice_number,
        file_name,
        source_line,
        total_net_sent,
        total_vat_sent,
        total_gross,
        lines_net,
        lines_vat,
        lines_gross,
        vat_totals_net,
        vat_totals_vat,
        vat_totals_gross,
        line_count,
        0.01 + 0.005 * line_count as tolerance
    from invoices

),

final as (

    select *
    from compared
    where
        (
            line_count > 0
            and (
                abs(total_gross - lines_gross) > tolerance
                or abs(total_net_sent - lines_net) > tolerance
                or abs(total_vat_sent - lines_vat) > tolerance
            )
        )
        or abs(total_gross - vat_totals_gross) > 0.01
        or abs(total_net_sent - vat_totals_net) > 0.01
        or abs(total_vat_sent - vat_totals_vat) > 0.01

)

select * from final
