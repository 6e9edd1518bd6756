{#-
    One row per line of the latest version of each invoice. An invoice sent again
    replaces its lines: lines of the new version are merged by (invoice, line number),
    and the post_hook removes lines the new version no longer has and all lines of
    deleted invoices. VAT rate and unit are canonical codes (NULL when no dictionary
    knows the code); vat_rate_percent is the canonical rate (NULL for zw, oo, np).
    The product resolves to crm.products (same source system). PLN amounts use the
    invoice's exchange rate. Incremental: only the lines of invoices loads newer than
    the table's highest invoice_load_id.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='line_id',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'invoice_lines_invoice_idx', 'columns': ['invoice_key']},
                {'name': 'invoice_lines_invoice_load_idx', 'columns': ['invoice_load_id']},
                {'name': 'invoice_lines_review_idx', 'columns': ['invoice_key'], 'where': 'vat_rate is null or (unit_code is not null and unit is null) or (product_source_id is not null and not is_product_known)'},
            ]) }}",
            "{{ crm7_delete_superseded_rows(this, ref('int_invoices_deduplicated'), 'invoice_key', 'invoice_load_id') }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set new_load_ids = crm7_new_load_ids(ref('stg_raw__loads'), 'invoices', 'invoice_load_id') %}
{%- set load_id_list = new_load_ids | join(', ') if new_load_ids else 'null' %}

with

lines as (

    select * from {{ ref('stg_raw__invoice_lines') }}

),

deduplicated as (

    select * from {{ ref('int_invoices_deduplicated') }}

),

products as (

    select * from {{ ref('products') }}

),

lookup as (

    select * from {{ ref('int_dictionary_lookup') }}

),

vat_rates as (

    select * from {{ ref('canonical_vat_rates') }}

),

current_lines as (

    select
        lines.*,
        deduplicated.invoice_key,
        deduplicated.source_system,
        deduplicated.exchange_rate,
        {{ source_record_key('deduplicated.source_system', 'lines.product_source_id') }} as product_key
    from lines
    inner join deduplicated
        on
            lines.load_id = deduplicated.last_load_id
            and lines.record_no = deduplicated.record_no
    where
        lines.load_id in ({{ load_id_list }})
        and not deduplicated.is_deleted

),

resolved as (

    select
        current_lines.*,
        vat_rate_codes.canonical_code as vat_rate,
        unit_codes.canonical_code as unit,
        products.product_key is not null as is_product_known
    from current_lines
    left join products
        on current_lines.product_key = products.product_key
    left join lookup as vat_rate_codes
        on
            current_lines.source_system = vat_rate_codes.source_system
            and vat_rate_codes.dictionary = 'vat_rate'
            and lower(current_lines.vat_rate_code) = vat_rate_codes.code_key
    left join lookup as unit_codes
        on
            current_lines.source_system = unit_codes.source_system
            and unit_codes.dictionary = 'unit'
            and lower(current_lines.unit_code) = unit_codes.code_key

),

final as (

    select
        resolved.invoice_key,
        resolved.line_no,
        resolved.source_system,
        resolved.product_source_id,
        resolved.is_product_known,
        resolved.line_name,
        resolved.quantity,
        resolved.unit_code,
        resolved.unit,
        resolved.unit_net_price,
        resolved.net_amount,
        resolved.vat_rate_code,
        resolved.vat_rate,
        vat_rates.rate as vat_rate_percent,
        resolved.vat_amount,
        resolved.gross_amount,
        resolved.load_id as invoice_load_id,
        resolved.record_no,
        resolved.source_line,
        case when resolved.is_product_known then resolved.product_key end as product_key,
        round(resolved.net_amount * resolved.exchange_rate, 2) as net_amount_pln,
        round(resolved.vat_amount * resolved.exchange_rate, 2) as vat_amount_pln,
        round(resolved.gross_amount * resolved.exchange_rate, 2) as gross_amount_pln,
        md5(resolved.invoice_key || '|' || resolved.line_no::text) as line_id
    from resolved
    left join vat_rates
        on resolved.vat_rate = vat_rates.code

)

select * from final
