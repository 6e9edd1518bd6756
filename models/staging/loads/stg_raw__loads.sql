{#-
    duplicate_of_load_id (the earlier load of the same file, on a 'skipped' load) is read
    when raw.loads has the column, NULL until the loader writes it.
-#}
{%- set raw_loads = load_relation(source('raw', 'loads')) if execute else none %}
{%- set raw_columns = adapter.get_columns_in_relation(raw_loads) | map(attribute='name') | list
    if raw_loads is not none else [] %}
{%- set duplicate_of_load_id = 'duplicate_of_load_id' if 'duplicate_of_load_id' in raw_columns
    else 'null::bigint as duplicate_of_load_id' %}

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
        {{ duplicate_of_load_id }},
        status = 'loaded' as is_loaded

    from source

)

select * from renamed
