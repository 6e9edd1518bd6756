{#- Financials rows whose company could not be decided, or whose period is reversed. -#}
with

matched as (

    select * from {{ ref('int_company_financials_matched') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

reasons as (

    select
        financials_key,
        unnest(string_to_array(review_reasons, ',')) as reason
    from matched

),

final as (

    select
        reasons.reason,
        reasons.financials_key as financials_id,
        matched.source_system,
        matched.company_source_system,
        matched.company_source_record_id,
        matched.company_nip_raw,
        matched.period_start,
        matched.period_end,
        matched.load_id,
        matched.record_no,
        matched.source_line,
        loads.file_name,
        md5(reasons.financials_key || '|' || reasons.reason) as review_id
    from reasons
    inner join matched
        on reasons.financials_key = matched.financials_key
    left join loads
        on matched.load_id = loads.load_id

)

select * from final
