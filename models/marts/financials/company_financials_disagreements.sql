{#-
    One row per sent figure that disagrees (by more than 0.01) with the same figure
    computed from invoices and payments: turnover, receivables_current or
    receivables_overdue of a crm.company_financials row whose comparison_status is
    'disagrees'. Rows that cannot be compared (company unknown, no invoices from that
    source, not in PLN) have their comparison_status in crm.company_financials instead.
-#}
with

financials as (

    select * from {{ ref('company_financials') }}

),

compared as (

    select *
    from financials
    where comparison_status = 'disagrees'

),

figures as (

    select
        financials_id,
        'turnover' as figure,
        turnover as sent_value,
        computed_turnover_pln as computed_value
    from compared
    where turnover is not null

    union all

    select
        financials_id,
        'receivables_current' as figure,
        receivables_current as sent_value,
        computed_receivables_current_pln as computed_value
    from compared

    union all

    select
        financials_id,
        'receivables_overdue' as figure,
        receivables_overdue as sent_value,
        computed_receivables_overdue_pln as computed_value
    from compared

),

final as (

    select
        figures.financials_id,
        compared.source_system,
        compared.company_id,
        compared.period_start,
        compared.period_end,
        figures.figure,
        figures.sent_value,
        figures.computed_value,
        compared.load_id,
        compared.source_line,
        md5(figures.financials_id || '|' || figures.figure) as disagreement_id,
        figures.sent_value - figures.computed_value as difference
    from figures
    inner join compared
        on figures.financials_id = compared.financials_id
    where abs(figures.sent_value - figures.computed_value) > 0.01

)

select * from final
