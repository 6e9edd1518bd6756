{#- A client's dictionary codes and the canonical code each maps onto. -#}
with

mapped as (

    select * from {{ ref('int_dictionary_codes_mapped') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

final as (

    select
        mapped.dictionary_code_id,
        mapped.source_system,
        mapped.dictionary,
        mapped.code,
        mapped.canonical_code,
        mapped.canonical_code_raw as requested_canonical_code,
        mapped.status,
        mapped.name,
        mapped.rate,
        mapped.valid_from,
        mapped.valid_to,
        mapped.default_days,
        mapped.direction,
        mapped.load_id,
        mapped.record_no,
        mapped.source_line,
        loads.file_name
    from mapped
    left join loads
        on mapped.load_id = loads.load_id

)

select * from final
