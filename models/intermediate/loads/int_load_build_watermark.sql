{#-
    One row: build_load_id, the highest load id the latest build took (crm7_build_load_id_sql:
    every load up to it had ended before the build started). A load still running, or one
    that ended after the build started, holds back itself and every newer load, and its
    records count as not yet built until the next build. It runs after the models that read
    the loads (depends_on below), so a build that stops before them leaves the previous
    watermark.
-#}
-- depends_on: {{ ref('company_links') }}
-- depends_on: {{ ref('invoices') }}
-- depends_on: {{ ref('invoice_lines') }}
-- depends_on: {{ ref('invoice_payments') }}
-- depends_on: {{ ref('calendar_events') }}
-- depends_on: {{ ref('company_financials') }}
-- depends_on: {{ ref('products') }}
-- depends_on: {{ ref('product_prices') }}
-- depends_on: {{ ref('stock_history') }}
-- depends_on: {{ ref('dictionary_codes') }}
-- depends_on: {{ ref('warehouse_documents') }}
-- depends_on: {{ ref('warehouse_document_lines') }}
-- depends_on: {{ ref('int_loaded_records_deduplicated') }}
-- depends_on: {{ ref('int_loads_counted') }}
{{ config(materialized='table') }}

{{ crm7_build_load_id_sql(ref('stg_raw__loads')) }}
