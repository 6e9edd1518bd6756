{#-
    Where a code found in the data leads, per source system and dictionary: one row per
    (source_system, dictionary, code_key). A client's own entry (crm.dictionary_codes,
    unless its canonical code is unknown) wins; otherwise the canonical code of the same
    spelling (case-insensitive) applies to every source system.
-#}
with

dictionary_codes as (

    select * from {{ ref('int_dictionary_codes_mapped') }}

),

canonical_codes as (

    select * from {{ ref('int_canonical_codes') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

source_systems as (

    select distinct source_system
    from loads
    where source_system is not null

),

client_codes as (

    select
        source_system,
        dictionary,
        code_key,
        canonical_code,
        'client' as resolved_by
    from dictionary_codes
    where status <> 'unknown_canonical_code'

),

default_codes as (

    select
        source_systems.source_system,
        canonical_codes.dictionary,
        canonical_codes.code_key,
        canonical_codes.code as canonical_code,
        'canonical' as resolved_by
    from canonical_codes
    cross join source_systems
    where not exists (
        select 1
        from client_codes
        where
            client_codes.source_system = source_systems.source_system
            and client_codes.dictionary = canonical_codes.dictionary
            and client_codes.code_key = canonical_codes.code_key
    )

),

final as (

    select * from client_codes
    union all
    select * from default_codes

)

select * from final
