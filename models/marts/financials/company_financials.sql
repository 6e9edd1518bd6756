{#-
    One row per company and period of a source system: turnover, receivables and
    credit use (receivables / credit limit) as sent, beside the same figures computed
    from that source's invoices and payments (int_company_financials_computed) and
    whether they agree (within 0.01). company_id is NULL when the company could not be
    decided (the row is then in company_financials_review).
-#}
with

matched as (

    select * from {{ ref('int_company_financials_matched') }}

),

computed as (

    select * from {{ ref('int_company_financials_computed') }}

),

joined as (

    select
        matched.*,
        computed.has_invoices,
        computed.computed_turnover_pln,
        computed.computed_receivables_current_pln,
        computed.computed_receivables_overdue_pln,
        abs(matched.turnover - computed.computed_turnover_pln) > 0.01 as is_turnover_different,
        abs(matched.receivables_current - computed.computed_receivables_current_pln) > 0.01
            as is_receivables_current_different,
        abs(matched.receivables_overdue - computed.computed_receivables_overdue_pln) > 0.01
            as is_receivables_overdue_different
    from matched
    left join computed
        on matched.financials_key = computed.financials_key

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
        computed_turnover_pln,
        computed_receivables_current_pln,
        computed_receivables_overdue_pln,
        round(receivables_total / nullif(credit_limit, 0), 4) as credit_use,
        coalesce(receivables_total > credit_limit, false) as is_over_credit_limit,
        review_reasons is not null as is_in_review,
        case
            when company_id is null then 'company_unknown'
            when not has_invoices then 'no_invoices_from_source'
            when currency <> 'PLN' then 'not_in_pln'
            when
                coalesce(is_turnover_different, false)
                or is_receivables_current_different
                or is_receivables_overdue_different
                then 'disagrees'
            else 'agrees'
        end as comparison_status

    from joined

)

select * from final
