with

source as (

    select * from {{ source('raw', 'invoices') }}

),

renamed as (

    select
        _load_id::text || ':' || _record_no::text as invoice_record_id,
        {{ source_record_key('_source_system', 'source_record_id') }} as invoice_key,
        _load_id as load_id,
        _record_no as record_no,
        _source_line as source_line,
        _source_system as source_system,
        source_record_id,
        coalesce(deleted, false) as is_deleted,
        btrim(number) as invoice_number,
        kind as invoice_kind,
        kind in ('KOR', 'KOR_ZAL', 'KOR_ROZ') as is_correction,
        coalesce(direction, 'sales') as direction,
        issue_date,
        coalesce(sale_date, issue_date) as sale_date,
        nullif(btrim(corrected_invoice_id), '') as corrected_invoice_source_id,
        case
            when nullif(btrim(corrected_invoice_id), '') is not null
                then {{ source_record_key('_source_system', 'btrim(corrected_invoice_id)') }}
        end as corrected_invoice_key,
        nullif(btrim(corrected_invoice_number), '') as corrected_invoice_number,
        correction_reason,
        nullif(btrim(seller_source_id), '') as seller_source_id,
        seller_nip as seller_nip_raw,
        -- A Polish EU VAT number (PL + NIP) is the NIP too.
        coalesce(
            {{ normalize_nip('seller_nip') }},
            case when upper(seller_eu_vat_id) like 'PL%' then {{ normalize_nip('seller_eu_vat_id') }} end
        ) as seller_nip,
        upper(seller_eu_vat_id) as seller_eu_vat_id,
        seller_other_id,
        seller_name,
        seller_address,
        coalesce(seller_country_code, 'PL') as seller_country_code,
        nullif(btrim(buyer_source_id), '') as buyer_source_id,
        buyer_nip as buyer_nip_raw,
        coalesce(
            {{ normalize_nip('buyer_nip') }},
            case when upper(buyer_eu_vat_id) like 'PL%' then {{ normalize_nip('buyer_eu_vat_id') }} end
        ) as buyer_nip,
        upper(buyer_eu_vat_id) as buyer_eu_vat_id,
        buyer_other_id,
        buyer_name,
        buyer_address,
        coalesce(buyer_country_code, 'PL') as buyer_country_code,
        coalesce({{ normalize_code('currency') }}, 'PLN') as currency_code,
        -- PLN per unit of the currency: 1 for PLN, NULL when a foreign currency has none.
        case
            when coalesce({{ normalize_code('currency') }}, 'PLN') = 'PLN' then 1
            else exchange_rate
        end as exchange_rate,
        exchange_rate_date,
        {{ normalize_code('payment_form') }} as payment_form_code,
        due_date as due_date_sent,
        coalesce(due_date, issue_date) as due_date,
        nullif(regexp_replace(bank_account, '[[:space:]]+', '', 'g'), '') as bank_account,
        total_net,
        total_vat,
        total_gross,
        _loaded_at as loaded_at

    from source

)

select * from renamed
