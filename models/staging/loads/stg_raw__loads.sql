with

source as (

    select * from {{ source('raw', 'loads') }}

),

renamed as (

    select
        load_id,
        file_name,
        file_path,
        file_sha256,
        file_size_bytes,
        source_system,
        contract,
        contract_version,
        contract_namespace,
        status,
        forced as is_forced,
        started_at,
        finished_at,
        records_read,
        records_loaded,
        records_rejected,
        error_message,
        error_line,
        error_column,
        duplicate_of_load_id,
        status = 'loaded' as is_loaded

    from source

)

select * from renamed
