{#-
    One row per warehouse document (source_system, source_record_id): its latest loaded
    version by (load_id, record_no), deleted ones included (is_deleted), with the count
    and the value sum of that version's lines. Incremental: a build reads only the
    warehouse_documents loads newer than max(last_load_id), and stamps the rows it
    writes with deduplicated_load_id (the highest load it read), which tells the marts
    downstream which documents changed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='document_key',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'int_warehouse_documents_deduplicated_build_idx', 'columns': ['deduplicated_load_id']},
            ]) }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set new_load_ids = crm7_new_load_ids(ref('stg_raw__loads'), 'warehouse_documents') %}
{%- set load_id_list = new_load_ids | join(', ') if new_load_ids else 'null' %}

with

documents as (

    select * from {{ ref('stg_raw__warehouse_documents') }}

),

lines as (

    select * from {{ ref('stg_raw__warehouse_document_lines') }}

),

batch_documents as (

    select documents.*
    from documents
    where documents.load_id in ({{ load_id_list }})

),

latest_documents as (

    select distinct on (document_key) *
    from batch_documents
    order by document_key asc, load_id desc, record_no desc

),

line_totals as (

    select
        lines.load_id,
        lines.record_no,
        count(*) as line_count,
        sum(lines.line_value) as lines_value_sum
    from lines
    where lines.load_id in ({{ load_id_list }})
    group by lines.load_id, lines.record_no

),

final as (

    select
        latest_documents.document_key,
        latest_documents.source_system,
        latest_documents.source_record_id,
        latest_documents.is_deleted,
        latest_documents.document_type_code,
        latest_documents.document_number,
        latest_documents.issue_date,
        latest_documents.operation_date,
        latest_documents.warehouse_code,
        latest_documents.target_warehouse_code,
        latest_documents.counterparty_source_id,
        latest_documents.counterparty_nip_raw,
        latest_documents.counterparty_nip,
        latest_documents.related_invoice_number,
        latest_documents.document_status,
        latest_documents.currency_code,
        latest_documents.total_value,
        latest_documents.load_id,
        latest_documents.record_no,
        latest_documents.source_line,
        latest_documents.load_id as last_load_id,
        coalesce(line_totals.line_count, 0) as line_count,
        coalesce(line_totals.lines_value_sum, 0) as lines_value_sum,
        {{ new_load_ids | last if new_load_ids else 0 }}::bigint as deduplicated_load_id
    from latest_documents
    left join line_totals
        on
            latest_documents.load_id = line_totals.load_id
            and latest_documents.record_no = line_totals.record_no

)

select * from final
