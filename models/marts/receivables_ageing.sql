{#-
    Receivables per company as of var('as_of_date') (today when null), computed from
    invoices and payments, in PLN: not yet due, overdue by 1-30, 31-60, 61-90 and more
    than 90 days past the original invoice's due date, and their sums; an invoice's
    balance is its gross after the corrections issued by that day minus the payments
    made by that day (crm.invoices has the state after every correction). Overpaid
    balances are not receivables: they show as overpaid_pln. Credit limit: the one of
    the latest period a source sent for the company (crm.company_financials, PLN);
    credit_use = receivables / limit. Companies with sales invoices only; invoices
    whose counterparty does not resolve are in crm.invoice_review. A view, so "today"
    is the day it is read.
-#}
{{ config(materialized='view') }}

{%- set as_of_date = var('as_of_date') %}

with

entries as (

    select * from {{ ref('int_receivable_entries_unioned') }}

),

financials as (

    select * from {{ ref('company_financials') }}

),

as_of as (

    select {{ "'" ~ as_of_date ~ "'::date" if as_of_date else 'current_date' }} as as_of_date

),

balances as (

    select
        entries.company_id,
        entries.original_invoice_key,
        entries.due_date,
        as_of.as_of_date,
        as_of.as_of_date - entries.due_date as days_overdue,
        sum(entries.gross_pln) as balance_pln
    from entries
    cross join as_of
    where
        entries.company_id is not null
        and entries.original_issue_date <= as_of.as_of_date
        and entries.entry_date <= as_of.as_of_date
    group by entries.company_id, entries.original_invoice_key, entries.due_date, as_of.as_of_date

),

per_company as (

    select
        balances.company_id,
        min(balances.as_of_date) as as_of_date,
        coalesce(sum(balances.balance_pln) filter (where balances.balance_pln > 0 and balances.days_overdue <= 0), 0)
            as receivables_current_pln,
        coalesce(sum(balances.balance_pln) filter (where balances.balance_pln > 0 and balances.days_overdue between 1 and 30), 0)
            as overdue_1_30_pln,
        coalesce(sum(balances.balance_pln) filter (where balances.balance_pln > 0 and balances.days_overdue between 31 and 60), 0)
            as overdue_31_60_pln,
        coalesce(sum(balances.balance_pln) filter (where balances.balance_pln > 0 and balances.days_overdue between 61 and 90), 0)
            as overdue_61_90_pln,
        coalesce(sum(balances.balance_pln) filter (where balances.balance_pln > 0 and balances.days_overdue > 90), 0)
            as overdue_over_90_pln,
        coalesce(-sum(balances.balance_pln) filter (where balances.balance_pln < 0), 0) as overpaid_pln,
        count(*) filter (where balances.balance_pln > 0) as open_invoice_count,
        min(balances.due_date) filter (where balances.balance_pln > 0) as oldest_open_due_date
    from balances
    group by balances.company_id

),

credit_limits as (

    select distinct on (financials.company_id)
        financials.company_id,
        financials.credit_limit,
        financials.period_end as credit_limit_period_end
    from financials
    where
        financials.company_id is not null
        and financials.credit_limit is not null
        and financials.currency = 'PLN'
    order by financials.company_id asc, financials.period_end desc, financials.load_id desc

),

final as (

    select
        per_company.company_id,
        per_company.as_of_date,
        per_company.receivables_current_pln,
        per_company.overdue_1_30_pln,
        per_company.overdue_31_60_pln,
        per_company.overdue_61_90_pln,
        per_company.overdue_over_90_pln,
        per_company.overdue_1_30_pln + per_company.overdue_31_60_pln
        + per_company.overdue_61_90_pln + per_company.overdue_over_90_pln as receivables_overdue_pln,
        per_company.receivables_current_pln + per_company.overdue_1_30_pln + per_company.overdue_31_60_pln
        + per_company.overdue_61_90_pln + per_company.overdue_over_90_pln as receivables_total_pln,
        per_company.overpaid_pln,
        per_company.open_invoice_count,
        per_company.oldest_open_due_date,
        credit_limits.credit_limit as credit_limit_pln,
        credit_limits.credit_limit_period_end,
        round(
            (
                per_company.receivables_current_pln + per_company.overdue_1_30_pln + per_company.overdue_31_60_pln
                + per_company.overdue_61_90_pln + per_company.overdue_over_90_pln
            ) / nullif(credit_limits.credit_limit, 0),
            4
        ) as credit_use,
        coalesce(
            per_company.receivables_current_pln + per_company.overdue_1_30_pln + per_company.overdue_31_60_pln
            + per_company.overdue_61_90_pln + per_company.overdue_over_90_pln > credit_limits.credit_limit,
            false
        ) as is_over_credit_limit
    from per_company
    left join credit_limits
        on per_company.company_id = credit_limits.company_id

)

select * from final
