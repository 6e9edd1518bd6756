with

source as (

    select * from {{ source('raw', 'contractors') }}

),

renamed as (

    select
        _load_id::text || ':' || _record_no::text as contractor_record_id,
        {{ source_record_key('_source_system', 'source_record_id') }} as contractor_key,
        _load_id as load_id,
        _record_no as record_no,
        _source_line as source_line,
        _source_system as source_system,
        source_record_id,
        source_updated_at,
        coalesce(deleted, false) as is_deleted,
        nullif(btrim(name), '') as name,
        nullif(btrim(short_name), '') as short_name,
        nip as nip_raw,
        {{ normalize_nip('nip') }} as nip,
        regon as regon_raw,
        {{ normalize_regon('regon') }} as regon,
        {{ normalize_phone('fax') }} as fax,
        {{ normalize_www('www') }} as www,
        _loaded_at as loaded_at

    from source

),

validated as (

    select
        *,
        {{ nip_checksum_ok('nip') }} as nip_is_valid,
        {{ regon_checksum_ok('regon') }} as regon_is_valid

    from renamed

)

select * from validated
