with

source as (

    select * from {{ source('raw', 'contractors') }}

),

renamed as (

    select
        source._load_id::text || ':' || source._record_no::text as contractor_record_id,
        {{ source_record_key('source._source_system', 'source.source_record_id') }} as contractor_key,
        source._load_id as load_id,
        source._record_no as record_no,
        source._source_line as source_line,
        source._source_system as source_system,
        source.source_record_id,
        source.source_updated_at,
        coalesce(source.deleted, false) as is_deleted,
        nullif(btrim(source.name), '') as name,
        nullif(btrim(source.short_name), '') as short_name,
        source.nip as nip_raw,
        identifiers.nip,
        source.regon as regon_raw,
        identifiers.regon,
        {{ phone_from_e164('source.fax_e164', 'source.fax_extension') }} as fax,
        source.fax as fax_raw,
        {{ normalize_www('source.www') }} as www,
        source._loaded_at as loaded_at,
        -- Given: the element was in the record, with a value or as xsi:nil="true" (a
        -- cleared value); a left-out element is "no news" and leaves the field as it was.
        {%- for field in ['source_updated_at', 'short_name', 'nip', 'regon', 'fax', 'www'] %}
        coalesce(source.{{ field }} is not null or '{{ field }}' = any(source._nil_fields), false)
            as is_{{ field }}_given,
        {%- endfor %}
        source._load_id * 4294967296 + source._record_no as record_version

    from source
    -- "offset 0" keeps the normalised values computed once per row: the checksum macros
    -- below reference them many times and would otherwise repeat the regexes.
    cross join lateral (  -- noqa: ST05
        select
            {{ normalize_nip('source.nip') }} as nip,
            {{ normalize_regon('source.regon') }} as regon
        limit all offset 0  -- noqa: AM09
    ) as identifiers

),

validated as (

    select
        *,
        {{ nip_checksum_ok('nip') }} as nip_is_valid,
        {{ regon_checksum_ok('regon') }} as regon_is_valid

    from renamed

)

select * from validated
