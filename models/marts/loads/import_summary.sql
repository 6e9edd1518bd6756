{#-
    One row describing the latest build (build_load_id = the highest load it included):
    companies created / updated / unchanged, source records newly linked, records
    rejected by the loads of that build, and the review queue.
    The loads of the latest build are those above the previous build's watermark (the
    highest matched_load_id below the current one). A report on builds, not CRM data:
    it lives in audit, since crm.* is the same whatever the build cadence and this is not.
-#}
{{ config(materialized='view', schema='audit') }}

with

companies as (

    select * from {{ ref('companies') }}

),

links as (

    select * from {{ ref('company_links') }}

),

matched as (

    select * from {{ ref('int_contractors_matched') }}

),

review as (

    select * from {{ ref('contractor_review') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

builds as (

    select
        coalesce(max(matched_load_id), 0) as build_load_id,
        coalesce(
            max(matched_load_id) filter (
                where matched_load_id < (select max(inner_matched.matched_load_id) from matched as inner_matched)
            ),
            0
        ) as previous_build_load_id
    from matched

),

company_counts as (

    select
        count(*) as companies_total,
        count(*) filter (
            where companies.created_load_id > builds.previous_build_load_id
        ) as companies_created,
        count(*) filter (
            where
            companies.updated_load_id > builds.previous_build_load_id
            and companies.created_load_id <= builds.previous_build_load_id
        ) as companies_updated
    from companies
    cross join builds

),

link_counts as (

    select
        count(*) as links_total,
        count(*) filter (where links.linked_load_id > builds.previous_build_load_id) as links_created
    from links
    cross join builds

),

build_records as (

    select
        count(*) as records_processed,
        count(*) filter (where matched.decision = 'new company') as records_new_company,
        count(*) filter (where matched.decision = 'linked') as records_linked,
        count(*) filter (where matched.decision = 'review') as records_to_review
    from matched
    cross join builds
    where matched.matched_load_id = builds.build_load_id

),

build_loads as (

    select
        count(*) as loads_processed,
        coalesce(sum(loads.records_read), 0)::bigint as records_read,
        coalesce(sum(loads.records_loaded), 0)::bigint as records_loaded,
        coalesce(sum(loads.records_rejected), 0)::bigint as records_rejected
    from loads
    cross join builds
    where
        loads.is_loaded
        and loads.load_id > builds.previous_build_load_id
        and loads.load_id <= builds.build_load_id

),

review_counts as (

    select
        count(distinct source_system || '|' || source_record_id) as review_records,
        count(*) as review_items
    from review

),

final as (

    select
        builds.build_load_id,
        builds.previous_build_load_id,
        build_loads.loads_processed,
        build_loads.records_read,
        build_loads.records_loaded,
        build_loads.records_rejected,
        build_records.records_processed,
        build_records.records_new_company,
        build_records.records_linked,
        build_records.records_to_review,
        company_counts.companies_total,
        company_counts.companies_created,
        company_counts.companies_updated,
        link_counts.links_total,
        link_counts.links_created,
        review_counts.review_records,
        review_counts.review_items,
        company_counts.companies_total
        - company_counts.companies_created
        - company_counts.companies_updated as companies_unchanged
    from builds
    cross join build_loads
    cross join build_records
    cross join company_counts
    cross join link_counts
    cross join review_counts

)

select * from final
