{#-
    One row per payment of the latest version of each invoice, in the invoice's currency
    and in PLN at the invoice's exchange rate. An invoice sent again replaces its
    payments (merged by invoice and position; the post_hook removes those the new
    version no longer lists and the payments of deleted invoices). Incremental: only
    the payments of invoices loads newer than the table's highest invoice_load_id.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='payment_id',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'invoice_payments_invoice_idx', 'columns': ['invoice_key']},
                {'name': 'invoice_payments_invoice_load_idx', 'columns': ['invoice_load_id']},
            ]) }}",
            "{{ crm7_delete_superseded_rows(this, ref('int_invoices_deduplicated'), 'invoice_key', 'invoice_load_id') }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set new_load_ids = crm7_new_load_ids(ref('stg_raw__loads'), 'invoices', 'invoice_load_id') %}
{%- set load_id_list = new_load_ids | join(', ') if new_load_ids else 'null' %}

with

payments as (

    select * from {{ ref('stg_raw__invoice_payments') }}

),

deduplicated as (

    select * from {{ ref('int_invoices_deduplicated') }}

),

current_payments as (

    select
        payments.*,
        deduplicated.invoice_key,
        deduplicated.source_system,
        deduplicated.exchange_rate
    from payments
    inner join deduplicated
        on
            payments.load_id = deduplicated.last_load_id
            and payments.record_no = deduplicated.record_no
    where
        payments.load_id in ({{ load_id_list }})
        and not deduplicated.is_deleted

),

final as (

    select
        current_payments.invoice_key,
        current_payments.payment_no,
        current_payments.source_system,
        current_payments.payment_date,
        current_payments.amount,
        current_payments.is_overpayment,
        current_payments.payment_reference,
        current_payments.load_id as invoice_load_id,
        current_payments.record_no,
        current_payments.source_line,
        md5(current_payments.invoice_key || '|' || current_payments.payment_no::text) as payment_id,
        round(current_payments.amount * current_payments.exchange_rate, 2) as amount_pln
    from current_payments

)

select * from final
