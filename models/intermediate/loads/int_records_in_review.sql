{#-
    One row per loaded record (load_id, record_no) with at least one open row in a
    domain's review mart: contractor_review, invoice_review, calendar_review,
    company_financials_review, inventory_review. Every review row names the record it is
    about by its load and record number.
-#}
{{ config(materialized='view') }}

with

contractor_review as (

    select * from {{ ref('contractor_review') }}

),

invoice_review as (

    select * from {{ ref('invoice_review') }}

),

calendar_review as (

    select * from {{ ref('calendar_review') }}

),

financials_review as (

    select * from {{ ref('company_financials_review') }}

),

inventory_review as (

    select * from {{ ref('inventory_review') }}

),

unioned as (

    select
        load_id,
        record_no
    from contractor_review

    union

    select
        load_id,
        record_no
    from invoice_review

    union

    select
        load_id,
        record_no
    from calendar_review

    union

    select
        load_id,
        record_no
    from financials_review

    union

    select
        load_id,
        record_no
    from inventory_review

)

select * from unioned
