with

source as (

    select * from {{ source('raw', 'rejects') }}

),

renamed as (

    select
        load_id,
        record_no,
        file_name,
        source_line,
        path as element_path,
        reason,
        record_xml,
        _loaded_at as loaded_at,
        load_id::text || ':' || record_no::text as reject_id

    from source

)

select * from renamed
