{#-
    One row per line of the latest version of each invoice. An invoice sent again
    replaces its lines: lines of the new version are merged by (invoice, line number),
    and the post_hook removes lines the new version no longer has and all lines of
    deleted invoices. VAT rate and unit are canonical codes (NULL when no dictionary
    knows the code); vat_rate_percent is the canonical rate (NULL for zw, oo, np).
    The product resolves to crm.products (same source system). PLN amounts use the
    invoice's exchange rate. Incremental: the lines of invoices loads newer than the
    table's highest invoice_load_id, and the lines whose VAT rate, unit or product did
    not resolve (resolved again, a dictionary or product may have come since).
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

new_lines as (

    select
        lines.load_id,
        lines.record_no,
        lines.line_no,
        lines.source_line,
        lines.product_source_id,
        lines.line_name,
        lines.quantity,
        lines.unit_code,
        lines.unit_net_price,
        lines.net_amount,
        lines.vat_rate_code,
        lines.vat_amount,
        lines.gross_amount,
        deduplicated.invoice_key,
        deduplicated.source_system,
        deduplicated.exchange_rate
    from lines
    inner join deduplicated
        on
            lines.load_id = deduplicated.last_load_id
            and lines.record_no = deduplicated.record_no
    where
        lines.load_id in ({{ load_id_list }})
        and not deduplicated.is_deleted

),

{% if is_incremental() %}

-- Lines written with a VAT rate, unit or product that did not resolve: resolved again
-- on every build (a dictionary or product loaded later), so that a line says what a
-- build from scratch would say. Only those rows are read (partial index).
rechecked_lines as (

    select
        existing_lines.invoice_load_id as load_id,
        existing_lines.record_no,
        existing_lines.line_no,
        existing_lines.source_line,
        existing_lines.product_source_id,
        existing_lines.line_name,
        existing_lines.quantity,
        existing_lines.unit_code,
        existing_lines.unit_net_price,
        existing_lines.net_amount,
        existing_lines.vat_rate_code,
        existing_lines.vat_amount,
        existing_lines.gross_amount,
        existing_lines.invoice_key,
        existing_lines.source_system,
        deduplicated.exchange_rate
    from {{ this }} as existing_lines
    inner join deduplicated
        on existing_lines.invoice_key = deduplicated.invoice_key
    where
        (
            existing_lines.vat_rate is null
            or (existing_lines.unit_code is not null and existing_lines.unit is null)
            or (existing_lines.product_source_id is not null and not existing_lines.is_product_known)
        )
        and existing_lines.invoice_load_id = deduplicated.last_load_id
        and existing_lines.invoice_key not in (select new_lines.invoice_key from new_lines)

),

{% else %}

rechecked_lines as (

    select new_lines.*
    from new_lines
    where false

),

{% endif %}

unioned_lines as (

    select * from new_lines
    union all
    select * from rechecked_lines

),

current_lines as (

    select
        unioned_lines.*,
        {{ source_record_key('unioned_lines.source_system', 'unioned_lines.product_source_id') }}
            as product_key
    from unioned_lines

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
