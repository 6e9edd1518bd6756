with

source as (

    select * from {{ source('raw', 'contractor_addresses') }}

),

renamed as (

    select
        _load_id as load_id,
        _record_no as record_no,
        _position as address_position,
        _source_line as source_line,
        postal_code as postal_code_raw,
        _loaded_at as loaded_at,
        coalesce(_is_nil, false) as is_nil,
        lower(btrim(type)) as address_type,
        nullif(btrim(street), '') as street,
        nullif(btrim(building_number), '') as building_number,
        nullif(btrim(flat_number), '') as flat_number,
        nullif(btrim(city), '') as city,
        coalesce(upper(nullif(btrim(country), '')), 'PL') as country_code

    from source

),

normalized as (

    select
        *,
        {{ normalize_postal_code('postal_code_raw', 'country_code') }} as postal_code

    from renamed

)

select * from normalized
