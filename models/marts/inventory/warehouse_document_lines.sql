{#-
    One row per line of the latest version of each warehouse document. A document sent
    again replaces its lines: lines of the new version are merged by (document, line
    number), and the post_hook removes lines the new version no longer has and all
    lines of deleted documents. The product resolves to crm.products (same source
    system); unit is canonical (the product's base unit when not given) and
    unit_factor its base units per unit, NULL when the product does not know the unit.
    Incremental: the lines of warehouse_documents loads newer than the table's highest
    document_load_id, and the lines whose product or unit did not resolve (resolved
    again: a product or dictionary may have come since).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='line_id',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'warehouse_document_lines_document_idx', 'columns': ['document_key']},
                {'name': 'warehouse_document_lines_document_load_idx', 'columns': ['document_load_id']},
                {'name': 'warehouse_document_lines_review_idx', 'columns': ['document_key'], 'where': 'not is_product_known or unit is null'},
            ]) }}",
            "{{ crm7_delete_superseded_rows(this, ref('int_warehouse_documents_deduplicated'), 'document_key', 'document_load_id') }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set new_load_ids = crm7_new_load_ids(ref('stg_raw__loads'), 'warehouse_documents', 'document_load_id') %}
{%- set load_id_list = new_load_ids | join(', ') if new_load_ids else 'null' %}

with

lines as (

    select * from {{ ref('stg_raw__warehouse_document_lines') }}

),

deduplicated as (

    select * from {{ ref('int_warehouse_documents_deduplicated') }}

),

products as (

    select * from {{ ref('products') }}

),

product_units as (

    select * from {{ ref('product_units') }}

),

unit_factors as (

    select distinct on (product_key, unit)
        product_key,
        unit,
        factor
    from product_units
    where unit is not null
    order by product_key asc, unit asc, is_base_unit desc

),

lookup as (

    select * from {{ ref('int_dictionary_lookup') }}

),

new_lines as (

    select
        lines.load_id,
        lines.record_no,
        lines.line_no,
        lines.source_line,
        lines.product_source_id,
        lines.quantity,
        lines.unit_code,
        lines.unit_price,
        lines.line_value,
        deduplicated.document_key,
        deduplicated.source_system
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

-- Lines written with a product or unit that did not resolve: resolved again on every
-- build (a product or dictionary loaded later), so that a line says what a build from
-- scratch would say. Only those rows are read (partial index).
rechecked_lines as (

    select
        existing_lines.document_load_id as load_id,
        existing_lines.record_no,
        existing_lines.line_no,
        existing_lines.source_line,
        existing_lines.product_source_id,
        existing_lines.quantity,
        existing_lines.unit_code,
        existing_lines.unit_price,
        existing_lines.line_value,
        existing_lines.document_key,
        existing_lines.source_system
    from {{ this }} as existing_lines
    where
        (not existing_lines.is_product_known or existing_lines.unit is null)
        and existing_lines.document_key not in (select new_lines.document_key from new_lines)

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
        products.product_key is not null as is_product_known,
        coalesce(units.canonical_code, case when current_lines.unit_code is null then products.base_unit end)
            as unit
    from current_lines
    left join products
        on current_lines.product_key = products.product_key
    left join lookup as units
        on
            current_lines.source_system = units.source_system
            and units.dictionary = 'unit'
            and lower(current_lines.unit_code) = units.code_key

),

final as (

    select
        resolved.document_key,
        resolved.line_no,
        resolved.source_system,
        resolved.product_key,
        resolved.product_source_id,
        resolved.is_product_known,
        resolved.quantity,
        resolved.unit_code,
        resolved.unit,
        unit_factors.factor as unit_factor,
        resolved.unit_price,
        resolved.line_value,
        resolved.load_id as document_load_id,
        resolved.record_no,
        resolved.source_line,
        resolved.quantity * resolved.unit_price as computed_value,
        md5(resolved.document_key || '|' || resolved.line_no::text) as line_id
    from resolved
    left join unit_factors
        on
            resolved.product_key = unit_factors.product_key
            and resolved.unit = unit_factors.unit

)

select * from final
