{#-
    One row per correction (an invoice of kind KOR, KOR_ZAL or KOR_ROZ that is not
    deleted): the original invoice at the end of its chain of corrections (a
    correction may correct another correction) and how many steps away it is. The
    chain must end at an original invoice crm7 has; otherwise original_invoice_key is
    NULL and chain_status names why: correction_without_reference (no
    correctedInvoiceId at some step), corrected_invoice_unknown (an id crm7 never
    received, or a deleted invoice), correction_cycle. Rebuilt on every build: its
    cost follows the number of corrections, not of invoices.
-#}
with recursive

deduplicated as (

    select * from {{ ref('int_invoices_deduplicated') }}

),

corrections as (

    select
        deduplicated.invoice_key,
        deduplicated.corrected_invoice_key
    from deduplicated
    where deduplicated.is_correction and not deduplicated.is_deleted

),

-- Each correction walks up its chain, one corrected invoice per step, while the
-- invoice reached is itself a correction that names what it corrects.
steps as (

    select
        corrections.invoice_key,
        corrections.corrected_invoice_key as reached_key,
        1 as steps_taken,
        array[corrections.invoice_key] as path
    from corrections
    where corrections.corrected_invoice_key is not null

    union all

    select
        steps.invoice_key,
        next_step.corrected_invoice_key as reached_key,
        steps.steps_taken + 1 as steps_taken,
        steps.path || steps.reached_key as path
    from steps
    inner join corrections as next_step
        on steps.reached_key = next_step.invoice_key
    where
        next_step.corrected_invoice_key is not null
        and not steps.reached_key = any(steps.path)

),

chain_ends as (

    select distinct on (steps.invoice_key)
        steps.invoice_key,
        steps.reached_key,
        steps.steps_taken,
        steps.reached_key = any(steps.path) as is_cycle
    from steps
    order by steps.invoice_key asc, steps.steps_taken desc

),

final as (

    select
        corrections.invoice_key,
        corrections.corrected_invoice_key,
        chain_ends.reached_key as chain_end_key,
        coalesce(chain_ends.steps_taken, 0) as correction_depth,
        case
            when corrections.corrected_invoice_key is null then 'correction_without_reference'
            when chain_ends.is_cycle then 'correction_cycle'
            when reached.invoice_key is null or reached.is_deleted then 'corrected_invoice_unknown'
            when reached.is_correction then 'correction_without_reference'
            else 'ok'
        end as chain_status,
        case
            when
                not chain_ends.is_cycle
                and not reached.is_deleted
                and not reached.is_correction
                then reached.invoice_key
        end as original_invoice_key
    from corrections
    left join chain_ends
        on corrections.invoice_key = chain_ends.invoice_key
    left join deduplicated as reached
        on chain_ends.reached_key = reached.invoice_key

)

select * from final
