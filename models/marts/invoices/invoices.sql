{#-
    One row per invoice document, the latest version of each: originals and corrections
    alike. A deleted invoice is removed (post_hook). The counterparty (the buyer of a
    sales invoice, the seller of a purchase one) resolves to a company through
    crm.company_links (its sourceId, same source system) or else its NIP
    (crm7_resolve_company; a link whose NIP differs from the invoice's wins); currency and
    payment form are canonical codes (NULL when no dictionary knows the code). Amounts
    are in the invoice's currency and, at its exchange rate, in PLN (NULL without a
    rate). A correction names its original invoice (the end of its chain of
    corrections); an original carries its state after all its corrections: totals,
    payments (its own and its corrections') and what is still outstanding.
    Whatever does not resolve keeps the invoice and is listed in crm.invoice_review.
    Incremental: invoices the deduplication rewrote since the last build, every
    document of the chains they belong to, corrections whose chain was broken, and
    invoices whose counterparty, currency or payment form resolves otherwise now than
    when they were written: each row is what a build from scratch gives.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='invoice_key',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'invoices_company_idx', 'columns': ['company_id']},
                {'name': 'invoices_original_idx', 'columns': ['original_invoice_key']},
                {'name': 'invoices_updated_load_idx', 'columns': ['updated_load_id']},
                {'name': 'invoices_unresolved_idx', 'columns': ['invoice_key'], 'where': \"counterparty_status in ('unresolved', 'not_identified')\"},
                {'name': 'invoices_broken_chain_idx', 'columns': ['invoice_key'], 'where': \"correction_chain_status <> 'ok'\"},
            ]) }}",
            "delete from {{ this }} where is_deleted",
            "{{ crm7_analyze_if_written(this) }}",
            "{{ crm7_save_processed_watermark(ref('int_invoices_deduplicated'), 'deduplicated_load_id') }}",
        ],
    )
}}

{%- set watermark = crm7_processed_watermark() %}

with

deduplicated as (

    select * from {{ ref('int_invoices_deduplicated') }}

),

chains as (

    select * from {{ ref('int_invoice_corrections_chained') }}

),

lookup as (

    select * from {{ ref('int_dictionary_lookup') }}

),

links as (

    select * from {{ ref('company_links') }}

),

companies as (

    select * from {{ ref('companies') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

new_versions as (

    select deduplicated.invoice_key
    from deduplicated
    where deduplicated.deduplicated_load_id > {{ watermark }}

),

{% if is_incremental() %}

-- Invoices whose resolution differs from what the current links, companies and
-- dictionaries give (a contractor loaded later, a link moved to another company, a
-- currency or payment form a dictionary loaded later knows), and corrections whose
-- chain was broken: rechecked on every build, so that an invoice says what a build
-- from scratch would say. Only the keys and the resolved columns are read.
existing_invoices as (

    select
        existing_invoices.invoice_key,
        existing_invoices.source_system,
        existing_invoices.counterparty_source_id,
        existing_invoices.counterparty_nip,
        existing_invoices.currency_code,
        existing_invoices.payment_form_code,
        existing_invoices.company_id as stored_company_id,
        existing_invoices.counterparty_status as stored_counterparty_status,
        existing_invoices.currency as stored_currency,
        existing_invoices.payment_form as stored_payment_form
    from {{ this }} as existing_invoices

),

existing_rechecked as (

    {{ crm7_resolve_company(
        'existing_invoices',
        'source_system',
        'counterparty_source_id',
        'counterparty_nip',
        nip_differs_from_link='link_wins',
    ) }}

),

rechecked as (

    select existing_rechecked.invoice_key
    from existing_rechecked
    left join lookup as currencies
        on
            existing_rechecked.source_system = currencies.source_system
            and currencies.dictionary = 'currency'
            and lower(existing_rechecked.currency_code) = currencies.code_key
    left join lookup as payment_forms
        on
            existing_rechecked.source_system = payment_forms.source_system
            and payment_forms.dictionary = 'payment_type'
            and lower(existing_rechecked.payment_form_code) = payment_forms.code_key
    where
        existing_rechecked.company_id is distinct from existing_rechecked.stored_company_id
        or case
            when existing_rechecked.link_company_id is not null then 'linked_by_id'
            when existing_rechecked.nip_company_id is not null then 'linked_by_nip'
            when not existing_rechecked.has_company_reference then 'not_identified'
            else 'unresolved'
        end
        is distinct from existing_rechecked.stored_counterparty_status
        or currencies.canonical_code is distinct from existing_rechecked.stored_currency
        or payment_forms.canonical_code is distinct from existing_rechecked.stored_payment_form

    union all

    select existing_invoices.invoice_key
    from {{ this }} as existing_invoices
    where existing_invoices.correction_chain_status <> 'ok'

),

-- The chains a new version may have left (a correction re-sent to correct another
-- invoice, a deleted original).
previous_chains as (

    select existing_invoices.original_invoice_key as chain_key
    from {{ this }} as existing_invoices
    where
        existing_invoices.invoice_key in (select new_versions.invoice_key from new_versions)
        and existing_invoices.original_invoice_key is not null

),

{% else %}

rechecked as (

    select null::text as invoice_key
    where false

),

previous_chains as (

    select null::text as chain_key
    where false

),

{% endif %}

touched as (

    select new_versions.invoice_key from new_versions
    union
    select rechecked.invoice_key from rechecked

),

-- Every chain a touched invoice belongs to: its original, or the invoice its chain ends
-- at when broken (so that corrections waiting for an original see it arrive).
touched_chains as (

    select coalesce(chains.original_invoice_key, chains.chain_end_key, touched.invoice_key) as chain_key
    from touched
    left join chains
        on touched.invoice_key = chains.invoice_key

    union

    select previous_chains.chain_key from previous_chains

),

changed_keys as (

    select touched.invoice_key from touched

    union

    select touched_chains.chain_key
    from touched_chains

    union

    select chains.invoice_key
    from chains
    where
        chains.original_invoice_key in (select touched_chains.chain_key from touched_chains)
        or chains.chain_end_key in (select touched_chains.chain_key from touched_chains)

),

changed_invoices as (

    select deduplicated.*
    from deduplicated
    inner join changed_keys
        on deduplicated.invoice_key = changed_keys.invoice_key

),

-- The state of each original after all its corrections, in the invoice's currency and
-- in PLN (NULL when a document of the chain has no exchange rate).
chain_members as (

    select
        changed_invoices.invoice_key as original_invoice_key,
        changed_invoices.invoice_key as member_key
    from changed_invoices
    where not changed_invoices.is_correction

    union all

    select
        chains.original_invoice_key,
        chains.invoice_key as member_key
    from chains
    where chains.original_invoice_key in (
        select changed_invoices.invoice_key
        from changed_invoices
        where not changed_invoices.is_correction
    )

),

chain_states as (

    select
        chain_members.original_invoice_key,
        count(*) - 1 as correction_count,
        sum(members.total_net) as net_after_corrections,
        sum(members.total_vat) as vat_after_corrections,
        sum(members.total_gross) as gross_after_corrections,
        sum(members.paid_amount) as paid_after_corrections,
        bool_or(members.has_overpayment_flag) as has_overpayment_flag_in_chain,
        case
            when bool_and(members.exchange_rate is not null)
                then sum(round(members.total_net * members.exchange_rate, 2))
        end as net_after_corrections_pln,
        case
            when bool_and(members.exchange_rate is not null)
                then sum(round(members.total_vat * members.exchange_rate, 2))
        end as vat_after_corrections_pln,
        case
            when bool_and(members.exchange_rate is not null)
                then sum(round(members.total_gross * members.exchange_rate, 2))
        end as gross_after_corrections_pln,
        case
            when bool_and(members.exchange_rate is not null)
                then sum(round(members.paid_amount * members.exchange_rate, 2))
        end as paid_after_corrections_pln,
        max(members.issue_date) as last_corrected_on
    from chain_members
    inner join deduplicated as members
        on chain_members.member_key = members.invoice_key
    where not members.is_deleted
    group by chain_members.original_invoice_key

),

counterparties as (

    {{ crm7_resolve_company(
        'changed_invoices',
        'source_system',
        'counterparty_source_id',
        'counterparty_nip',
        nip_differs_from_link='link_wins',
    ) }}

),

resolved as (

    select
        counterparties.*,
        currencies.canonical_code as currency,
        payment_forms.canonical_code as payment_form,
        case
            when counterparties.link_company_id is not null then 'linked_by_id'
            when counterparties.nip_company_id is not null then 'linked_by_nip'
            when not counterparties.has_company_reference then 'not_identified'
            else 'unresolved'
        end as counterparty_status,
        case
            when counterparties.is_correction then chains.original_invoice_key
            else counterparties.invoice_key
        end as original_invoice_key,
        case when counterparties.is_correction then chains.corrected_invoice_key end as corrected_key,
        case when counterparties.is_correction then coalesce(chains.correction_depth, 0) else 0 end
            as correction_depth,
        case
            when counterparties.is_correction then coalesce(chains.chain_status, 'corrected_invoice_unknown')
        end as correction_chain_status
    from counterparties
    left join chains
        on counterparties.invoice_key = chains.invoice_key
    left join lookup as currencies
        on
            counterparties.source_system = currencies.source_system
            and currencies.dictionary = 'currency'
            and lower(counterparties.currency_code) = currencies.code_key
    left join lookup as payment_forms
        on
            counterparties.source_system = payment_forms.source_system
            and payment_forms.dictionary = 'payment_type'
            and lower(counterparties.payment_form_code) = payment_forms.code_key

),

final as (

    select
        resolved.invoice_key,
        resolved.source_system,
        resolved.source_record_id,
        resolved.invoice_number,
        resolved.invoice_kind,
        resolved.is_correction,
        resolved.direction,
        resolved.issue_date,
        resolved.sale_date,
        resolved.due_date,
        resolved.due_date_sent,
        resolved.corrected_invoice_source_id,
        resolved.corrected_invoice_number,
        resolved.corrected_key as corrected_invoice_key,
        resolved.original_invoice_key,
        resolved.correction_depth,
        resolved.correction_chain_status,
        resolved.correction_reason,
        resolved.counterparty_role,
        resolved.counterparty_source_id,
        resolved.counterparty_nip,
        resolved.counterparty_name,
        resolved.company_id,
        resolved.counterparty_status,
        resolved.seller_source_id,
        resolved.seller_nip,
        resolved.seller_eu_vat_id,
        resolved.seller_other_id,
        resolved.seller_name,
        resolved.seller_address,
        resolved.seller_country_code,
        resolved.buyer_source_id,
        resolved.buyer_nip,
        resolved.buyer_eu_vat_id,
        resolved.buyer_other_id,
        resolved.buyer_name,
        resolved.buyer_address,
        resolved.buyer_country_code,
        resolved.currency_code,
        resolved.currency,
        resolved.exchange_rate,
        resolved.exchange_rate_date,
        resolved.payment_form_code,
        resolved.payment_form,
        resolved.bank_account,
        resolved.total_net,
        resolved.total_vat,
        resolved.total_gross,
        resolved.total_net_sent,
        resolved.total_vat_sent,
        resolved.line_count,
        resolved.lines_net,
        resolved.lines_vat,
        resolved.lines_gross,
        resolved.vat_total_count,
        resolved.vat_totals_net,
        resolved.vat_totals_vat,
        resolved.vat_totals_gross,
        resolved.vat_rate_problems,
        resolved.payment_count,
        resolved.paid_amount,
        resolved.has_overpayment_flag,
        resolved.last_payment_date,
        chain_states.correction_count,
        chain_states.net_after_corrections,
        chain_states.vat_after_corrections,
        chain_states.gross_after_corrections,
        chain_states.paid_after_corrections,
        chain_states.net_after_corrections_pln,
        chain_states.vat_after_corrections_pln,
        chain_states.gross_after_corrections_pln,
        chain_states.paid_after_corrections_pln,
        chain_states.has_overpayment_flag_in_chain,
        chain_states.last_corrected_on,
        resolved.is_deleted,
        resolved.load_id,
        resolved.record_no,
        resolved.source_line,
        loads.file_name,
        resolved.load_id as updated_load_id,
        round(resolved.total_net * resolved.exchange_rate, 2) as total_net_pln,
        round(resolved.total_vat * resolved.exchange_rate, 2) as total_vat_pln,
        round(resolved.total_gross * resolved.exchange_rate, 2) as total_gross_pln,
        round(resolved.paid_amount * resolved.exchange_rate, 2) as paid_amount_pln,
        chain_states.gross_after_corrections - chain_states.paid_after_corrections as outstanding_amount,
        chain_states.gross_after_corrections_pln - chain_states.paid_after_corrections_pln
            as outstanding_amount_pln,
        case
            when chain_states.original_invoice_key is null then null
            when resolved.invoice_kind = 'PRO' then 'pro_forma'
            when chain_states.gross_after_corrections <= 0 and chain_states.paid_after_corrections = 0
                then 'nothing_due'
            when chain_states.paid_after_corrections = 0 then 'unpaid'
            when chain_states.paid_after_corrections < chain_states.gross_after_corrections then 'partially_paid'
            when chain_states.paid_after_corrections = chain_states.gross_after_corrections then 'paid'
            else 'overpaid'
        end as payment_status,
        now() as updated_at
    from resolved
    left join chain_states
        on resolved.invoice_key = chain_states.original_invoice_key
    left join loads
        on resolved.load_id = loads.load_id

)

select * from final
