{#-
    For every sent financials row whose company is known (int_company_financials_matched):
    the same figures computed from the invoices and payments of the same source system
    for that company, in PLN: turnover = net of sales invoices and corrections issued in
    the period; receivables at the period's end = the balances of invoices issued by
    then (corrections issued and payments made by then included), current when not yet
    due on that day, overdue when due before it. has_invoices is false when the source
    system sent no invoices at all: its figures cannot be checked.
-#}
with

financials as (

    select * from {{ ref('int_company_financials_matched') }}

),

entries as (

    select * from {{ ref('int_receivable_entries_unioned') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

sent as (

    select
        financials.financials_key,
        financials.source_system,
        financials.company_id,
        financials.period_start,
        financials.period_end
    from financials
    where financials.company_id is not null

),

invoice_sources as (

    select distinct loads.source_system
    from loads
    where loads.contract = 'invoices' and loads.status = 'loaded'

),

turnover as (

    select
        sent.financials_key,
        sum(entries.net_pln) as turnover_pln
    from sent
    inner join entries
        on
            sent.company_id = entries.company_id
            and sent.source_system = entries.source_system
            and entries.entry_type in ('invoice', 'correction')
            and entries.entry_date between sent.period_start and sent.period_end
    group by sent.financials_key

),

balances as (

    select
        sent.financials_key,
        entries.original_invoice_key,
        entries.due_date < sent.period_end as is_overdue,
        sum(entries.gross_pln) as balance_pln
    from sent
    inner join entries
        on
            sent.company_id = entries.company_id
            and sent.source_system = entries.source_system
            and sent.period_end >= entries.original_issue_date
            and sent.period_end >= entries.entry_date
    group by sent.financials_key, entries.original_invoice_key, entries.due_date < sent.period_end

),

receivables as (

    select
        balances.financials_key,
        coalesce(sum(balances.balance_pln) filter (where not balances.is_overdue and balances.balance_pln > 0), 0)
            as receivables_current_pln,
        coalesce(sum(balances.balance_pln) filter (where balances.is_overdue and balances.balance_pln > 0), 0)
            as receivables_overdue_pln
    from balances
    group by balances.financials_key

),

final as (

    select
        sent.financials_key,
        invoice_sources.source_system is not null as has_invoices,
        coalesce(turnover.turnover_pln, 0) as computed_turnover_pln,
        coalesce(receivables.receivables_current_pln, 0) as computed_receivables_current_pln,
        coalesce(receivables.receivables_overdue_pln, 0) as computed_receivables_overdue_pln
    from sent
    left join invoice_sources
        on sent.source_system = invoice_sources.source_system
    left join turnover
        on sent.financials_key = turnover.financials_key
    left join receivables
        on sent.financials_key = receivables.financials_key

)

select * from final
