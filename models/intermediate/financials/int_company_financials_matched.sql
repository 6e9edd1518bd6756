{#-
    One row per company and period of a source system (financials_key): the latest
    loaded version (load_id, record_no), with the company found through
    crm.company_links (contractor id) and/or crm.companies (NIP), no company when they
    disagree (crm7_resolve_company, nip_differs_from_link='conflict'), and every reason
    it needs review. Rebuilt each run, so a company loaded later resolves earlier rows.
-#}
with

financials as (

    select * from {{ ref('stg_raw__company_financials') }}

),

links as (

    select * from {{ ref('company_links') }}

),

companies as (

    select * from {{ ref('companies') }}

),

latest as (

    select financials.*
    from financials
    where not exists (
        select 1
        from financials as later
        where
            later.financials_key = financials.financials_key
            and (later.load_id, later.record_no) > (financials.load_id, financials.record_no)
    )

),

decided as (

    {{ crm7_resolve_company(
        'latest',
        'company_source_system',
        'company_source_record_id',
        'company_nip',
        nip_differs_from_link='conflict',
    ) }}

),

final as (

    select
        decided.financials_key,
        decided.source_system,
        decided.company_source_system,
        decided.company_source_record_id,
        decided.company_nip_raw,
        decided.company_nip,
        decided.company_id,
        decided.period_start,
        decided.period_end,
        decided.currency,
        decided.turnover,
        decided.receivables_current,
        decided.receivables_overdue,
        decided.receivables_total,
        decided.credit_limit,
        decided.load_id,
        decided.record_no,
        decided.source_line,
        nullif(array_to_string(array_remove(
            array[
                case
                    when decided.company_source_record_id is null and decided.company_nip is null
                        then 'missing_company'
                end,
                case
                    when decided.company_nip is not null and not decided.is_company_nip_valid
                        then 'invalid_company_nip'
                end,
                case
                    when
                        decided.company_id is null
                        and not decided.is_company_conflict
                        and (decided.company_source_record_id is not null or decided.is_company_nip_valid)
                        then 'unknown_company'
                end,
                case when decided.is_company_conflict then 'company_conflict' end,
                case when decided.period_end < decided.period_start then 'period_end_before_start' end
            ],
            null
        ), ','), '') as review_reasons
    from decided

)

select * from final
