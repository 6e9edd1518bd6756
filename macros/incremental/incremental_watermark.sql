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
