{#-
    The ids of the 'loaded' loads of one contract that an incremental build processes,
    queried at run time: newer than the model's watermark (max(watermark_column) of
    {{ this }} on an incremental run, 0 otherwise) and older than the first load still
    running (load_window_upper_bound). Returned as a list of integers (empty at parse
    time and when there is nothing new).
-#}
{% macro crm7_new_load_ids(loads_relation, contract_name, watermark_column='last_load_id') -%}
    {%- if not execute or load_relation(loads_relation) is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- if is_incremental() -%}
        {%- set watermark_sql -%}
            select coalesce(max({{ watermark_column }}), 0) from {{ this }}
        {%- endset -%}
        {%- set watermark = run_query(watermark_sql).columns[0].values()[0] -%}
    {%- else -%}
        {%- set watermark = 0 -%}
    {%- endif -%}
    {%- set loads_sql -%}
        with loads as (select * from {{ loads_relation }})
        select load_id
        from loads
        where
            status = 'loaded'
            and contract = '{{ contract_name }}'
            and load_id > {{ watermark }}
            and load_id < {{ load_window_upper_bound('loads') }}
        order by load_id
    {%- endset -%}
    {%- set load_ids = [] -%}
    {%- for row in run_query(loads_sql).rows -%}
        {%- do load_ids.append(row[0] | int) -%}
    {%- endfor -%}
    {{ return(load_ids) }}
{%- endmacro %}
