{#-
    One row per loaded record of every contract (the raw rows, read through the staging
    views), with what the load reconciliation needs: its contract, its source key (the
    key under which a later record replaces it: the same key the domain's models
    deduplicate on), its version order and whether it marks the key deleted.
    A record's version order is (version_sequence, version_updated_at, load_id,
    record_no), a missing value counting as older than any; only calendar events carry
    a sequence and time (their highest SEQUENCE wins, see int_calendar_events_deduplicated),
    every other contract orders by (load_id, record_no).
-#}
{{ config(materialized='view') }}

with

contractors as (

    select * from {{ ref('stg_raw__contractors') }}

),

invoices as (

    select * from {{ ref('stg_raw__invoices') }}

),

calendar_events as (

    select * from {{ ref('stg_raw__calendar_events') }}

),

company_financials as (

    select * from {{ ref('stg_raw__company_financials') }}

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

prices as (

    select * from {{ ref('stg_raw__prices') }}

),

stock_levels as (

    select * from {{ ref('stg_raw__stock_levels') }}

),

warehouse_documents as (

    select * from {{ ref('stg_raw__warehouse_documents') }}

),

dictionary_entries as (

    select * from {{ ref('stg_raw__dictionary_entries') }}

),

unioned as (

    select
        'contractors' as contract,
        load_id,
        record_no,
        contractor_key as source_key,
        null::bigint as version_sequence,
        null::timestamptz as version_updated_at,
        is_deleted
    from contractors

    union all

    select
        'invoices' as contract,
        load_id,
        record_no,
        invoice_key as source_key,
        null::bigint as version_sequence,
        null::timestamptz as version_updated_at,
        is_deleted
    from invoices

    union all

    select
        'calendar_events' as contract,
        load_id,
        record_no,
        event_key as source_key,
        event_sequence::bigint as version_sequence,
        source_updated_at as version_updated_at,
        is_deleted
    from calendar_events

    union all

    select
        'company_financials' as contract,
        load_id,
        record_no,
        financials_key as source_key,
        null::bigint as version_sequence,
        null::timestamptz as version_updated_at,
        false as is_deleted
    from company_financials

    union all

    select
        'products' as contract,
        load_id,
        record_no,
        product_key as source_key,
        null::bigint as version_sequence,
        null::timestamptz as version_updated_at,
        is_deleted
    from products

    union all

    -- One price period: product_prices keeps one row per (price list, product, unit, valid from).
    select
        'prices' as contract,
        load_id,
        record_no,
        md5(row(source_system, price_list, product_source_id, lower(coalesce(unit_code, '')), valid_from)::text)
            as source_key,
        null::bigint as version_sequence,
        null::timestamptz as version_updated_at,
        is_deleted
    from prices

    union all

    -- One stock snapshot: stock_history keeps one row per (warehouse, product, as of).
    select
        'stock_levels' as contract,
        load_id,
        record_no,
        md5(row(source_system, warehouse_code, product_source_id, as_of)::text) as source_key,
        null::bigint as version_sequence,
        null::timestamptz as version_updated_at,
        false as is_deleted
    from stock_levels

    union all

    select
        'warehouse_documents' as contract,
        load_id,
        record_no,
        document_key as source_key,
        null::bigint as version_sequence,
        null::timestamptz as version_updated_at,
        is_deleted
    from warehouse_documents

    union all

    -- One client code of one dictionary: dictionary_codes keeps one row per (dictionary, code).
    select
        'dictionaries' as contract,
        load_id,
        record_no,
        md5(row(source_system, dictionary, lower(code))::text) as source_key,
        null::bigint as version_sequence,
        null::timestamptz as version_updated_at,
        false as is_deleted
    from dictionary_entries

)

select * from unioned
