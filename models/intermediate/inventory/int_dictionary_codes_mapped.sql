{#-
    A client's dictionaries: one row per (source system, dictionary, code), the latest
    entry loaded, mapped onto a canonical code. status: 'mapped' (canonical code known),
    'own' (a unit, warehouse or document type of the client's own, not mapped: only
    these three dictionaries accept own codes), or
    'unknown_canonical_code' (goes to crm.inventory_review).
-#}
with

entries as (

    select * from {{ ref('stg_raw__dictionary_entries') }}

),

canonical_codes as (

    select * from {{ ref('int_canonical_codes') }}

),

latest_entries as (

    select distinct on (source_system, dictionary, lower(code))
        *,
        lower(code) as code_key
    from entries
    order by source_system asc, dictionary asc, lower(code) asc, load_id desc, record_no desc

),

resolved as (

    select
        latest_entries.*,
        canonical_codes.code as matched_canonical_code
    from latest_entries
    left join canonical_codes
        on
            latest_entries.dictionary = canonical_codes.dictionary
            and lower(coalesce(latest_entries.canonical_code_raw, latest_entries.code))
            = canonical_codes.code_key

),

final as (

    select
        source_system,
        dictionary,
        code,
        code_key,
        canonical_code_raw,
        name,
        rate,
        valid_from,
        valid_to,
        default_days,
        direction,
        load_id,
        record_no,
        source_line,
        md5(source_system || '|' || dictionary || '|' || code_key) as dictionary_code_id,
        case
            when matched_canonical_code is not null then 'mapped'
            when
                canonical_code_raw is null
                and dictionary in ('unit', 'warehouse', 'document_type')
                then 'own'
            else 'unknown_canonical_code'
        end as status,
        case
            when matched_canonical_code is not null then matched_canonical_code
            when
                canonical_code_raw is null
                and dictionary in ('unit', 'warehouse', 'document_type')
                then code
        end as canonical_code
    from resolved

)

select * from final
