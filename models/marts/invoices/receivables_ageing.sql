{#-
    Receivables per company as of var('as_of_date') (today when null), computed from
    invoices and payments, in PLN: not yet due, overdue by 1-30, 31-60, 61-90 and more
    than 90 days past the original invoice's due date, and their sums; an invoice's
    balance is its gross after the corrections issued by that day minus the payments
    made by that day (crm.invoices has the state after every correction). Overpaid
    balances are not receivables: they show as overpaid_pln. Credit limit: the one of
    the latest period a source sent for the company (crm.company_financials, PLN);
    credit_use = receivables / limit. Companies with sales invoices only; invoices
    whose counterparty does not resolve are in crm.invoice_review. A table rebuilt by
    every build (its checks then read the table, not the whole computation again): with
    as_of_date unset, "today" is the day of the build.
-#}

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

bucketed as (

    select
        balances.*,
        case
            when balances.balance_pln <= 0 then null
            when balances.days_overdue <= 0 then 'current'
            when balances.days_overdue <= 30 then '1_30'
            when balances.days_overdue <= 60 then '31_60'
            when balances.days_overdue <= 90 then '61_90'
            else 'over_90'
        end as bucket
    from balances

),

per_company as (

    select
        company_id,
        min(as_of_date) as as_of_date,
        coalesce(sum(balance_pln) filter (where bucket = 'current'), 0) as receivables_current_pln,
        coalesce(sum(balance_pln) filter (where bucket = '1_30'), 0) as overdue_1_30_pln,
        coalesce(sum(balance_pln) filter (where bucket = '31_60'), 0) as overdue_31_60_pln,
        coalesce(sum(balance_pln) filter (where bucket = '61_90'), 0) as overdue_61_90_pln,
        coalesce(sum(balance_pln) filter (where bucket = 'over_90'), 0) as overdue_over_90_pln,
        coalesce(sum(balance_pln) filter (where bucket <> 'current'), 0) as receivables_overdue_pln,
        coalesce(sum(balance_pln) filter (where bucket is not null), 0) as receivables_total_pln,
        coalesce(-sum(balance_pln) filter (where balance_pln < 0), 0) as overpaid_pln,
        count(*) filter (where bucket is not null) as open_invoice_count,
        min(due_date) filter (where bucket is not null) as oldest_open_due_date
    from bucketed
    group by company_id

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
        per_company.*,
        credit_limits.credit_limit as credit_limit_pln,
        credit_limits.credit_limit_period_end,
        round(per_company.receivables_total_pln / nullif(credit_limits.credit_limit, 0), 4) as credit_use,
        coalesce(per_company.receivables_total_pln > credit_limits.credit_limit, false) as is_over_credit_limit
    from per_company
    left join credit_limits
        on per_company.company_id = credit_limits.company_id

)

select * from final
