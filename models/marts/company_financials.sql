{#-
    One row per company and period of a source system: turnover, receivables and
    credit use (receivables / credit limit). company_id is NULL when the company could
    not be decided (the row is then in company_financials_review).
-#}
with

matched as (

    select * from {{ ref('int_company_financials_matched') }}

),

final as (

    select
        financials_key as financials_id,
        source_system,
        company_id,
        company_source_system,
        company_source_record_id,
        company_nip_raw,
        period_start,
        period_end,
        currency,
        turnover,
        receivables_current,
        receivables_overdue,
        receivables_total,
        credit_limit,
        load_id,
        record_no,
        source_line,
        round(receivables_total / nullif(credit_limit, 0), 4) as credit_use,
        coalesce(receivables_total > credit_limit, false) as is_over_credit_limit,
        review_reasons is not null as is_in_review

    from matched

)

select * from final
