{#-
    One row per warehouse document, its latest version; a document sent with deleted =
    true is removed (post_hook). Type, warehouses and currency are canonical codes (NULL
    when no dictionary knows the code); the counterparty resolves to a company through
    crm.company_links (counterparty_source_id, same source system) or else its NIP
    (crm7_resolve_company; a link whose NIP differs from the document's wins).
    Whatever does not resolve keeps the document and is listed in crm.inventory_review.
    Incremental: only documents the deduplication rewrote since the last build, plus
    documents whose counterparty or codes resolve otherwise now than when they were
    written (a contractor or dictionary loaded later, a link moved): each row is what a
    build from scratch gives.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='document_key',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'warehouse_documents_company_idx', 'columns': ['company_id']},
                {'name': 'warehouse_documents_updated_load_idx', 'columns': ['updated_load_id']},
                {'name': 'warehouse_documents_unresolved_idx', 'columns': ['document_key'], 'where': \"counterparty_status = 'unresolved'\"},
            ]) }}",
            "delete from {{ this }} where is_deleted",
            "{{ crm7_analyze_if_written(this) }}",
            "{{ crm7_save_processed_watermark(ref('int_warehouse_documents_deduplicated'), 'deduplicated_load_id') }}",
        ],
    )
}}

{%- set watermark = crm7_processed_watermark() %}

with

deduplicated as (

    select * from {{ ref('int_warehouse_documents_deduplicated') }}

),

lookup as (

    select * from {{ ref('int_dictionary_lookup') }}

),

links as (

    select * from {{ ref('company_links') }}

),

companies as (

    select * from {{ ref('companies') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

{% if is_incremental() %}

-- Documents whose resolution differs from what the current links, companies and
-- dictionaries give (a contractor loaded later, a link moved to another company, a code
-- a dictionary loaded later knows): rewritten too, so that a document says what a
-- build from scratch would say. Only the keys and the resolved columns are read.
existing_documents as (

    select
        existing_documents.document_key,
        existing_documents.source_system,
        existing_documents.counterparty_source_id,
        existing_documents.counterparty_nip,
        existing_documents.document_type_code,
        existing_documents.warehouse_code,
        existing_documents.target_warehouse_code,
        existing_documents.currency_code,
        existing_documents.company_id as stored_company_id,
        existing_documents.counterparty_status as stored_counterparty_status,
        existing_documents.document_type as stored_document_type,
        existing_documents.warehouse as stored_warehouse,
        existing_documents.target_warehouse as stored_target_warehouse,
        existing_documents.currency as stored_currency
    from {{ this }} as existing_documents

),

existing_rechecked as (

    {{ crm7_resolve_company(
        'existing_documents',
        'source_system',
        'counterparty_source_id',
        'counterparty_nip',
        nip_differs_from_link='link_wins',
    ) }}

),

rechecked as (

    select existing_rechecked.document_key
    from existing_rechecked
    left join lookup as document_types
        on
            existing_rechecked.source_system = document_types.source_system
            and document_types.dictionary = 'document_type'
            and lower(existing_rechecked.document_type_code) = document_types.code_key
    left join lookup as warehouse_codes
        on
            existing_rechecked.source_system = warehouse_codes.source_system
            and warehouse_codes.dictionary = 'warehouse'
            and lower(existing_rechecked.warehouse_code) = warehouse_codes.code_key
    left join lookup as target_warehouse_codes
        on
            existing_rechecked.source_system = target_warehouse_codes.source_system
            and target_warehouse_codes.dictionary = 'warehouse'
            and lower(existing_rechecked.target_warehouse_code) = target_warehouse_codes.code_key
    left join lookup as currencies
        on
            existing_rechecked.source_system = currencies.source_system
            and currencies.dictionary = 'currency'
            and lower(existing_rechecked.currency_code) = currencies.code_key
    where
        existing_rechecked.company_id is distinct from existing_rechecked.stored_company_id
        or case
            when not existing_rechecked.has_company_reference then 'none'
            when existing_rechecked.link_company_id is not null then 'linked_by_id'
            when existing_rechecked.nip_company_id is not null then 'linked_by_nip'
            else 'unresolved'
        end
        is distinct from existing_rechecked.stored_counterparty_status
        or document_types.canonical_code is distinct from existing_rechecked.stored_document_type
        or warehouse_codes.canonical_code is distinct from existing_rechecked.stored_warehouse
        or target_warehouse_codes.canonical_code
        is distinct from existing_rechecked.stored_target_warehouse
        or currencies.canonical_code is distinct from existing_rechecked.stored_currency

),

{% else %}

rechecked as (

    select null::text as document_key
    where false

),

{% endif %}

changed_documents as (

    select deduplicated.*
    from deduplicated
    where
        deduplicated.deduplicated_load_id > {{ watermark }}
        or deduplicated.document_key in (select rechecked.document_key from rechecked)

),

counterparties as (

    {{ crm7_resolve_company(
        'changed_documents',
        'source_system',
        'counterparty_source_id',
        'counterparty_nip',
        nip_differs_from_link='link_wins',
    ) }}

),

resolved as (

    select
        counterparties.*,
        document_types.canonical_code as document_type,
        warehouse_codes.canonical_code as warehouse,
        target_warehouse_codes.canonical_code as target_warehouse,
        currencies.canonical_code as currency,
        case
            when not counterparties.has_company_reference then 'none'
            when counterparties.link_company_id is not null then 'linked_by_id'
            when counterparties.nip_company_id is not null then 'linked_by_nip'
            else 'unresolved'
        end as counterparty_status
    from counterparties
    left join lookup as document_types
        on
            counterparties.source_system = document_types.source_system
            and document_types.dictionary = 'document_type'
            and lower(counterparties.document_type_code) = document_types.code_key
    left join lookup as warehouse_codes
        on
            counterparties.source_system = warehouse_codes.source_system
            and warehouse_codes.dictionary = 'warehouse'
            and lower(counterparties.warehouse_code) = warehouse_codes.code_key
    left join lookup as target_warehouse_codes
        on
            counterparties.source_system = target_warehouse_codes.source_system
            and target_warehouse_codes.dictionary = 'warehouse'
            and lower(counterparties.target_warehouse_code) = target_warehouse_codes.code_key
    left join lookup as currencies
        on
            counterparties.source_system = currencies.source_system
            and currencies.dictionary = 'currency'
            and lower(counterparties.currency_code) = currencies.code_key

),

final as (

    select
        resolved.document_key,
        resolved.source_system,
        resolved.source_record_id,
        resolved.document_type_code,
        resolved.document_type,
        resolved.document_number,
        resolved.issue_date,
        resolved.operation_date,
        resolved.warehouse_code,
        resolved.warehouse,
        resolved.target_warehouse_code,
        resolved.target_warehouse,
        resolved.counterparty_source_id,
        resolved.counterparty_nip_raw,
        resolved.counterparty_nip,
        resolved.company_id,
        resolved.counterparty_status,
        resolved.related_invoice_number,
        resolved.document_status,
        resolved.currency_code,
        resolved.currency,
        resolved.total_value,
        resolved.line_count,
        resolved.lines_value_sum,
        resolved.is_deleted,
        resolved.load_id,
        resolved.record_no,
        resolved.source_line,
        loads.file_name,
        resolved.load_id as updated_load_id,
        now() as updated_at
    from resolved
    left join loads
        on resolved.load_id = loads.load_id

)

select * from final
