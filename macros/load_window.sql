{#-
    Bounds of the loads an incremental contractors build may process, as a SQL
    expression. Loads are processed in load_id order, so a load still 'running' holds
    back every newer load: otherwise the newer one would move the watermark past it and
    its rows, committed later, would never be read. The loader commits a load's
    'running' row before its data and registers loads one at a time (so load n is never
    visible before load n-1), and marks failed the running loads whose process died
    when the next load starts; a load still 'running' after
    var('crm7_running_load_grace_hours') is treated as dead.

    load_window_upper_bound(loads_cte): first load_id NOT to process (exclusive);
    loads_cte names a CTE or relation with load_id, status and started_at.
-#}
{% macro load_window_upper_bound(loads_cte) -%}
    coalesce(
        (
            select min(running_loads.load_id)
            from {{ loads_cte }} as running_loads
            where
                running_loads.status = 'running'
                and running_loads.started_at
                > now() - interval '{{ var("crm7_running_load_grace_hours") }} hours'
        ),
        9223372036854775807
    )
{%- endmacro %}

{#- Deterministic company id: a UUID from the normalised NIP (survives --full-refresh). -#}
{% macro company_id_from_nip(nip_column) -%}
    md5('crm7:company:' || {{ nip_column }})::uuid
{%- endmacro %}

{#- Deterministic key of one source record: md5(source_system | source_record_id). -#}
{% macro source_record_key(source_system_column, source_record_id_column) -%}
    md5({{ source_system_column }} || '|' || {{ source_record_id_column }})
{%- endmacro %}

{#-
    max(column) of an incremental model's own table as a literal, queried at run time
    so that the planner sees a constant (an InitPlan parameter gets a blind 1/3
    selectivity guess and turns small incremental reads into full scans). In unit
    tests (where {{ this }} is a fixture CTE) and at parse time it stays a subquery.
-#}
{% macro incremental_watermark(column) -%}
    {%- if execute and model.resource_type != 'unit_test' -%}
        {%- if load_relation(this) is none -%}
            {{ return(0) }}
        {%- endif -%}
        {%- set watermark_sql -%}
            select coalesce(max({{ column }}), 0) from {{ this }}
        {%- endset -%}
        {{ run_query(watermark_sql).columns[0].values()[0] | int }}
    {%- else -%}
        (select coalesce(max({{ column }}), 0) from {{ this }})
    {%- endif -%}
{%- endmacro %}
