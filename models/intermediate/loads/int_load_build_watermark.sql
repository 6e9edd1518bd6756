{#-
    One row: build_load_id, the highest load id the latest build took. Every load up to
    it had ended (loaded, failed or skipped) before the build started, so every model of
    the build read it; a load still running, or one that ended after the build started,
    holds back itself and every newer load (the models process loads in load-id order,
    see load_window_upper_bound), and its records count as not yet built until the next
    build. It runs after the models that read the loads (depends_on below), so a build
    that stops before them leaves the previous watermark.
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
{{ config(materialized='table') }}

with

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

build_start as (

    select '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }} UTC'::timestamptz as started_at

),

unfinished as (

    select min(loads.load_id) as first_unfinished_load_id
    from loads
    cross join build_start
    where
        loads.load_id >= {{ load_window_upper_bound('loads') }}
        or loads.finished_at > build_start.started_at

),

final as (

    select
        build_start.started_at as build_started_at,
        least(
            coalesce((select max(loads.load_id) from loads), 0),
            coalesce(unfinished.first_unfinished_load_id - 1, 9223372036854775807)
        )::bigint as build_load_id
    from unfinished
    cross join build_start

)

select * from final
