with

source as (

    select * from {{ source('raw', 'warehouse_documents') }}

),

renamed as (

    select
        _load_id::text || ':' || _record_no::text as document_record_id,
        {{ source_record_key('_source_system', 'source_record_id') }} as document_key,
        _load_id as load_id,
        _record_no as record_no,
        _source_line as source_line,
        _source_system as source_system,
        source_record_id,
        coalesce(deleted, false) as is_deleted,
        {{ normalize_code('type') }} as document_type_code,
        btrim(number) as document_number,
        issue_date,
        coalesce(operation_date, issue_date) as operation_date,
        {{ normalize_code('warehouse') }} as warehouse_code,
        {{ normalize_code('target_warehouse') }} as target_warehouse_code,
        nullif(btrim(counterparty_id), '') as counterparty_source_id,
        counterparty_nip as counterparty_nip_raw,
        {{ normalize_nip('counterparty_nip') }} as counterparty_nip,
        nullif(btrim(related_invoice_number), '') as related_invoice_number,
        coalesce(status, 'approved') as document_status,
        coalesce({{ normalize_code('currency') }}, 'PLN') as currency_code,
        total_value,
        _loaded_at as loaded_at

    from source

)

select * from renamed
