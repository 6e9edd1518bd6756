{#-
    The review queue of the inventory entities: one row per record and reason for every
    code no dictionary knows and every reference that does not resolve. The record
    itself stays where it is (crm.products, crm.product_prices, crm.stock_levels,
    crm.warehouse_documents, ...); this view says what is wrong with it, with file and
    line. A view: it always reflects the current state. Its import CTEs are not
    materialized, so each check reads only its rows (partial indexes on the big tables)
    instead of a copy of every warehouse document line.
-#}
{{ config(materialized='view') }}

with

dictionary_codes as not materialized (

    select * from {{ ref('dictionary_codes') }}

),

products as not materialized (

    select * from {{ ref('products') }}

),

product_units as not materialized (

    select * from {{ ref('product_units') }}

),

prices as not materialized (

    select * from {{ ref('product_prices') }}

),

stock as not materialized (

    select * from {{ ref('stock_levels') }}

),

documents as not materialized (

    select * from {{ ref('warehouse_documents') }}

),

document_lines as not materialized (

    select * from {{ ref('warehouse_document_lines') }}

),

dictionary_issues as (

    select
        'dictionary_code' as entity,
        dictionary_code_id as record_key,
        source_system,
        dictionary || ':' || code as record_ref,
        'unknown_canonical_code' as reason,
        coalesce(requested_canonical_code, code) as code,
        load_id,
        record_no,
        source_line,
        file_name
    from dictionary_codes
    where status = 'unknown_canonical_code'

),

product_issues as (

    select
        'product' as entity,
        product_key as record_key,
        source_system,
        source_record_id as record_ref,
        'unknown_unit' as reason,
        base_unit_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from products
    where base_unit is null

    union all

    select
        'product' as entity,
        product_key as record_key,
        source_system,
        source_record_id as record_ref,
        'unknown_vat_rate' as reason,
        vat_rate_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from products
    where vat_rate_code is not null and vat_rate is null

    union all

    select
        'product' as entity,
        products.product_key as record_key,
        products.source_system,
        products.source_record_id as record_ref,
        'unknown_unit' as reason,
        product_units.unit_code as code,
        products.load_id,
        products.record_no,
        product_units.source_line,
        products.file_name
    from product_units
    inner join products
        on product_units.product_key = products.product_key
    where product_units.unit is null and not product_units.is_base_unit

),

price_issues as (

    select
        'price' as entity,
        price_id as record_key,
        source_system,
        price_list || ':' || product_source_id || ':' || valid_from::text as record_ref,
        'unresolved_product' as reason,
        product_source_id as code,
        load_id,
        record_no,
        source_line,
        file_name
    from prices
    where not is_product_known

    union all

    select
        'price' as entity,
        price_id as record_key,
        source_system,
        price_list || ':' || product_source_id || ':' || valid_from::text as record_ref,
        'unknown_currency' as reason,
        currency_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from prices
    where currency is null

    union all

    select
        'price' as entity,
        price_id as record_key,
        source_system,
        price_list || ':' || product_source_id || ':' || valid_from::text as record_ref,
        'unknown_unit' as reason,
        unit_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from prices
    where is_product_known and unit is null

),

stock_issues as (

    select
        'stock_level' as entity,
        stock_level_id as record_key,
        source_system,
        warehouse_code || ':' || product_source_id as record_ref,
        'unresolved_product' as reason,
        product_source_id as code,
        load_id,
        record_no,
        source_line,
        file_name
    from stock
    where not is_product_known

    union all

    select
        'stock_level' as entity,
        stock_level_id as record_key,
        source_system,
        warehouse_code || ':' || product_source_id as record_ref,
        'unknown_warehouse' as reason,
        warehouse_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from stock
    where warehouse is null

),

document_issues as (

    select
        'warehouse_document' as entity,
        document_key as record_key,
        source_system,
        source_record_id as record_ref,
        'unknown_document_type' as reason,
        document_type_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from documents
    where document_type is null

    union all

    select
        'warehouse_document' as entity,
        document_key as record_key,
        source_system,
        source_record_id as record_ref,
        'unknown_warehouse' as reason,
        warehouse_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from documents
    where warehouse is null

    union all

    select
        'warehouse_document' as entity,
        document_key as record_key,
        source_system,
        source_record_id as record_ref,
        'unknown_warehouse' as reason,
        target_warehouse_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from documents
    where target_warehouse_code is not null and target_warehouse is null

    union all

    select
        'warehouse_document' as entity,
        document_key as record_key,
        source_system,
        source_record_id as record_ref,
        'unknown_currency' as reason,
        currency_code as code,
        load_id,
        record_no,
        source_line,
        file_name
    from documents
    where currency is null

    union all

    select
        'warehouse_document' as entity,
        document_key as record_key,
        source_system,
        source_record_id as record_ref,
        'unresolved_counterparty' as reason,
        concat_ws(' / ', counterparty_source_id, counterparty_nip_raw) as code,
        load_id,
        record_no,
        source_line,
        file_name
    from documents
    where counterparty_status = 'unresolved'

),

line_issues as (

    select
        'warehouse_document_line' as entity,
        document_lines.line_id as record_key,
        document_lines.source_system,
        documents.source_record_id || ':' || document_lines.line_no::text as record_ref,
        'unresolved_product' as reason,
        document_lines.product_source_id as code,
        documents.load_id,
        documents.record_no,
        document_lines.source_line,
        documents.file_name
    from document_lines
    inner join documents
        on document_lines.document_key = documents.document_key
    where not document_lines.is_product_known

    union all

    select
        'warehouse_document_line' as entity,
        document_lines.line_id as record_key,
        document_lines.source_system,
        documents.source_record_id || ':' || document_lines.line_no::text as record_ref,
        'unknown_unit' as reason,
        document_lines.unit_code as code,
        documents.load_id,
        documents.record_no,
        document_lines.source_line,
        documents.file_name
    from document_lines
    inner join documents
        on document_lines.document_key = documents.document_key
    where document_lines.is_product_known and document_lines.unit is null

),

unioned as (

    select * from dictionary_issues
    union all
    select * from product_issues
    union all
    select * from price_issues
    union all
    select * from stock_issues
    union all
    select * from document_issues
    union all
    select * from line_issues

),

final as (

    select
        entity,
        reason,
        code,
        source_system,
        record_ref,
        record_key,
        load_id,
        record_no,
        source_line,
        file_name,
        md5(entity || '|' || record_key || '|' || reason || '|' || coalesce(code, '')) as review_id
    from unioned

)

select * from final
