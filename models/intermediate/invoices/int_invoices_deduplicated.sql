{#-
    One row per invoice (source_system, source_record_id): its latest loaded version by
    (load_id, record_no), deleted ones included (is_deleted), with the counterparty
    picked by direction (the buyer of a sales invoice, the seller of a purchase one)
    and the sums of that version's lines, per-rate totals and payments. Incremental: a
    build reads only the invoices loads newer than max(last_load_id), and stamps the
    rows it writes with deduplicated_load_id (the highest load it read), which tells
    the marts downstream which invoices changed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='invoice_key',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'int_invoices_deduplicated_build_idx', 'columns': ['deduplicated_load_id']},
                {'name': 'int_invoices_deduplicated_corrections_idx', 'columns': ['invoice_key'], 'where': 'is_correction'},
            ]) }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set new_load_ids = crm7_new_load_ids(ref('stg_raw__loads'), 'invoices') %}
{%- set load_id_list = new_load_ids | join(', ') if new_load_ids else 'null' %}

with

invoices as (

    select * from {{ ref('stg_raw__invoices') }}

),

lines as (

    select * from {{ ref('stg_raw__invoice_lines') }}

),

vat_totals as (

    select * from {{ ref('stg_raw__invoice_vat_totals') }}

),

payments as (

    select * from {{ ref('stg_raw__invoice_payments') }}

),

batch_invoices as (

    select invoices.*
    from invoices
    where invoices.load_id in ({{ load_id_list }})

),

latest_invoices as (

    select distinct on (invoice_key) *
    from batch_invoices
    order by invoice_key asc, load_id desc, record_no desc

),

-- Lines and per-rate totals are read once, per VAT rate; the per-invoice sums below
-- add up these rows.
rate_lines as (

    select
        lines.load_id,
        lines.record_no,
        lines.vat_rate_code,
        count(*) as line_count,
        sum(lines.net_amount) as net_amount,
        sum(lines.vat_amount) as vat_amount,
        sum(lines.gross_amount) as gross_amount
    from lines
    where lines.load_id in ({{ load_id_list }})
    group by lines.load_id, lines.record_no, lines.vat_rate_code

),

rate_totals as (

    select
        vat_totals.load_id,
        vat_totals.record_no,
        vat_totals.vat_rate_code,
        count(*) as total_count,
        sum(vat_totals.net_amount) as net_amount,
        sum(vat_totals.vat_amount) as vat_amount,
        sum(vat_totals.gross_amount) as gross_amount
    from vat_totals
    where vat_totals.load_id in ({{ load_id_list }})
    group by vat_totals.load_id, vat_totals.record_no, vat_totals.vat_rate_code

),

line_sums as (

    select
        rate_lines.load_id,
        rate_lines.record_no,
        sum(rate_lines.line_count)::bigint as line_count,
        sum(rate_lines.net_amount) as lines_net,
        sum(rate_lines.vat_amount) as lines_vat,
        sum(rate_lines.gross_amount) as lines_gross
    from rate_lines
    group by rate_lines.load_id, rate_lines.record_no

),

vat_total_sums as (

    select
        rate_totals.load_id,
        rate_totals.record_no,
        sum(rate_totals.total_count)::bigint as vat_total_count,
        sum(rate_totals.net_amount) as vat_totals_net,
        sum(rate_totals.vat_amount) as vat_totals_vat,
        sum(rate_totals.gross_amount) as vat_totals_gross
    from rate_totals
    group by rate_totals.load_id, rate_totals.record_no

),

-- Per VAT rate, the totals sent against the sum of that rate's lines (only for records
-- that send totals): a problem per rate, NULL when they agree within rounding (0.01 plus
-- 0.005 per line: VAT computed on a rate's total may differ from the sum of rounded
-- line VAT). Computed here, per batch, so that the check reads one column.
rate_lines_of_records_with_totals as (

    select rate_lines.*
    from rate_lines
    inner join vat_total_sums
        on
            rate_lines.load_id = vat_total_sums.load_id
            and rate_lines.record_no = vat_total_sums.record_no

),

rate_problems as (

    select
        coalesce(rate_totals.load_id, rate_lines.load_id) as load_id,
        coalesce(rate_totals.record_no, rate_lines.record_no) as record_no,
        coalesce(rate_totals.vat_rate_code, rate_lines.vat_rate_code) as vat_rate_code,
        case
            when rate_totals.vat_rate_code is null then 'rate without a total'
            when abs(rate_totals.gross_amount - (rate_totals.net_amount + rate_totals.vat_amount)) > 0.01
                then 'gross is not net + VAT'
            when rate_lines.vat_rate_code is null then 'total without lines'
            when
                abs(rate_totals.net_amount - rate_lines.net_amount) > 0.01 + 0.005 * rate_lines.line_count
                or abs(rate_totals.vat_amount - rate_lines.vat_amount) > 0.01 + 0.005 * rate_lines.line_count
                then 'total differs from its lines'
        end as problem
    from rate_totals
    full outer join rate_lines_of_records_with_totals as rate_lines
        on
            rate_totals.load_id = rate_lines.load_id
            and rate_totals.record_no = rate_lines.record_no
            and rate_totals.vat_rate_code = rate_lines.vat_rate_code

),

rate_problem_lists as (

    select
        rate_problems.load_id,
        rate_problems.record_no,
        string_agg(
            rate_problems.vat_rate_code || ': ' || rate_problems.problem, '; '
            order by rate_problems.vat_rate_code
        ) as vat_rate_problems
    from rate_problems
    where rate_problems.problem is not null
    group by rate_problems.load_id, rate_problems.record_no

),

payment_sums as (

    select
        payments.load_id,
        payments.record_no,
        count(*) as payment_count,
        sum(payments.amount) as paid_amount,
        bool_or(payments.is_overpayment) as has_overpayment_flag,
        max(payments.payment_date) as last_payment_date
    from payments
    where payments.load_id in ({{ load_id_list }})
    group by payments.load_id, payments.record_no

),

final as (

    select
        latest_invoices.invoice_key,
        latest_invoices.source_system,
        latest_invoices.source_record_id,
        latest_invoices.is_deleted,
        latest_invoices.invoice_number,
        latest_invoices.invoice_kind,
        latest_invoices.is_correction,
        latest_invoices.direction,
        latest_invoices.issue_date,
        latest_invoices.sale_date,
        latest_invoices.corrected_invoice_source_id,
        latest_invoices.corrected_invoice_key,
        latest_invoices.corrected_invoice_number,
        latest_invoices.correction_reason,
        latest_invoices.seller_source_id,
        latest_invoices.seller_nip_raw,
        latest_invoices.seller_nip,
        latest_invoices.seller_eu_vat_id,
        latest_invoices.seller_other_id,
        latest_invoices.seller_name,
        latest_invoices.seller_address,
        latest_invoices.seller_country_code,
        latest_invoices.buyer_source_id,
        latest_invoices.buyer_nip_raw,
        latest_invoices.buyer_nip,
        latest_invoices.buyer_eu_vat_id,
        latest_invoices.buyer_other_id,
        latest_invoices.buyer_name,
        latest_invoices.buyer_address,
        latest_invoices.buyer_country_code,
        case when latest_invoices.direction = 'sales' then 'buyer' else 'seller' end as counterparty_role,
        case
            when latest_invoices.direction = 'sales' then latest_invoices.buyer_source_id
            else latest_invoices.seller_source_id
        end as counterparty_source_id,
        case
            when latest_invoices.direction = 'sales' then latest_invoices.buyer_nip
            else latest_invoices.seller_nip
        end as counterparty_nip,
        case
            when latest_invoices.direction = 'sales' then latest_invoices.buyer_name
            else latest_invoices.seller_name
        end as counterparty_name,
        latest_invoices.currency_code,
        latest_invoices.exchange_rate,
        latest_invoices.exchange_rate_date,
        latest_invoices.payment_form_code,
        latest_invoices.due_date_sent,
        latest_invoices.due_date,
        latest_invoices.bank_account,
        coalesce(latest_invoices.total_net, line_sums.lines_net, 0) as total_net,
        coalesce(latest_invoices.total_vat, line_sums.lines_vat, 0) as total_vat,
        latest_invoices.total_gross,
        latest_invoices.total_net as total_net_sent,
        latest_invoices.total_vat as total_vat_sent,
        coalesce(line_sums.line_count, 0) as line_count,
        coalesce(line_sums.lines_net, 0) as lines_net,
        coalesce(line_sums.lines_vat, 0) as lines_vat,
        coalesce(line_sums.lines_gross, 0) as lines_gross,
        coalesce(vat_total_sums.vat_total_count, 0) as vat_total_count,
        vat_total_sums.vat_totals_net,
        vat_total_sums.vat_totals_vat,
        vat_total_sums.vat_totals_gross,
        rate_problem_lists.vat_rate_problems,
        coalesce(payment_sums.payment_count, 0) as payment_count,
        coalesce(payment_sums.paid_amount, 0) as paid_amount,
        coalesce(payment_sums.has_overpayment_flag, false) as has_overpayment_flag,
        payment_sums.last_payment_date,
        latest_invoices.load_id,
        latest_invoices.record_no,
        latest_invoices.source_line,
        latest_invoices.load_id as last_load_id,
        {{ new_load_ids | last if new_load_ids else 0 }}::bigint as deduplicated_load_id
    from latest_invoices
    left join line_sums
        on
            latest_invoices.load_id = line_sums.load_id
            and latest_invoices.record_no = line_sums.record_no
    left join vat_total_sums
        on
            latest_invoices.load_id = vat_total_sums.load_id
            and latest_invoices.record_no = vat_total_sums.record_no
    left join payment_sums
        on
            latest_invoices.load_id = payment_sums.load_id
            and latest_invoices.record_no = payment_sums.record_no
    left join rate_problem_lists
        on
            latest_invoices.load_id = rate_problem_lists.load_id
            and latest_invoices.record_no = rate_problem_lists.record_no

)

select * from final
