with

source as (

    select * from {{ source('raw', 'company_financials') }}

),

renamed as (

    select
        source._load_id::text || ':' || source._record_no::text as financials_record_id,
        source._load_id as load_id,
        source._record_no as record_no,
        source._source_line as source_line,
        source._source_system as source_system,
        coalesce(source.company_source_system, source._source_system) as company_source_system,
        source.company_source_record_id,
        source.company_nip as company_nip_raw,
        {{ normalize_nip('source.company_nip') }} as company_nip,
        source.period_start,
        source.period_end,
        coalesce(source.currency, 'PLN') as currency,
        source.turnover,
        source.receivables_current,
        source.receivables_overdue,
        source.credit_limit,
        source._loaded_at as loaded_at

    from source

),

keyed as (

    select
        *,
        -- One company in one period of one source: by contractor id when given, else by NIP.
        md5(
            source_system || '|'
            || coalesce('id:' || company_source_system || '/' || company_source_record_id, 'nip:' || company_nip, '')
            || '|' || period_start::text || '|' || period_end::text
        ) as financials_key,
        {{ nip_checksum_ok('company_nip') }} as is_company_nip_valid,
        receivables_current + receivables_overdue as receivables_total

    from renamed

)

select * from keyed
