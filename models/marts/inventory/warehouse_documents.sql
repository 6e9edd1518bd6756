{#-
    One row per warehouse document, its latest version; a document sent with deleted =
    true is removed (post_hook). Type, warehouses and currency are canonical codes (NULL
    when no dictionary knows the code); the counterparty resolves to a company through
    crm.company_links (counterparty_source_id, same source system) or else its NIP.
    Whatever does not resolve keeps the document and is listed in crm.inventory_review.
    Incremental: only documents the deduplication rewrote since the last build, plus
    unresolved documents whose counterparty resolves now (a contractor loaded later).
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
        ],
    )
}}

{%- set watermark = incremental_watermark('updated_load_id') if is_incremental() else 0 %}

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

-- Documents whose counterparty did not resolve before and resolves now (a contractor
-- loaded later): rewritten too. Only the unresolved ones are read (partial index).
unresolved as (

    select existing_documents.document_key
    from {{ this }} as existing_documents
    where
        existing_documents.counterparty_status = 'unresolved'
        and (
            exists (
                select 1
                from links
                where
                    existing_documents.source_system = links.source_system
                    and existing_documents.counterparty_source_id = links.source_record_id
            )
            or exists (
                select 1
                from companies
                where existing_documents.counterparty_nip = companies.nip
            )
        )

),

{% else %}

unresolved as (

    select null::text as document_key
    where false

),

{% endif %}

build as (

    select coalesce(max(deduplicated_load_id), 0) as build_load_id
    from deduplicated

),

changed_documents as (

    select deduplicated.*
    from deduplicated
    where
        deduplicated.deduplicated_load_id > {{ watermark }}
        or deduplicated.document_key in (select unresolved.document_key from unresolved)

),

resolved as (

    select
        changed_documents.*,
        document_types.canonical_code as document_type,
        warehouse_codes.canonical_code as warehouse,
        target_warehouse_codes.canonical_code as target_warehouse,
        currencies.canonical_code as currency,
        coalesce(links.company_id, companies.company_id) as company_id,
        case
            when changed_documents.counterparty_source_id is null and changed_documents.counterparty_nip is null
                then 'none'
            when links.company_id is not null then 'linked_by_id'
            when companies.company_id is not null then 'linked_by_nip'
            else 'unresolved'
        end as counterparty_status
    from changed_documents
    left join lookup as document_types
        on
            changed_documents.source_system = document_types.source_system
            and document_types.dictionary = 'document_type'
            and lower(changed_documents.document_type_code) = document_types.code_key
    left join lookup as warehouse_codes
        on
            changed_documents.source_system = warehouse_codes.source_system
            and warehouse_codes.dictionary = 'warehouse'
            and lower(changed_documents.warehouse_code) = warehouse_codes.code_key
    left join lookup as target_warehouse_codes
        on
            changed_documents.source_system = target_warehouse_codes.source_system
            and target_warehouse_codes.dictionary = 'warehouse'
            and lower(changed_documents.target_warehouse_code) = target_warehouse_codes.code_key
    left join lookup as currencies
        on
            changed_documents.source_system = currencies.source_system
            and currencies.dictionary = 'currency'
            and lower(changed_documents.currency_code) = currencies.code_key
    left join links
        on
            changed_documents.source_system = links.source_system
            and changed_documents.counterparty_source_id = links.source_record_id
    left join companies
        on changed_documents.counterparty_nip = companies.nip

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
        build.build_load_id as updated_load_id,
        now() as updated_at
    from resolved
    cross join build
    left join loads
        on resolved.load_id = loads.load_id

)

select * from final
