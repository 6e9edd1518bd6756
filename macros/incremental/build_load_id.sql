{#-
    The loads a build takes, as one SQL select of one row (build_started_at,
    build_load_id): every load up to build_load_id had ended (loaded, failed or skipped)
    before the build started (run_started_at); a load still running, or one that ended
    after the start, holds back itself and every newer load (loads are processed in
    load-id order, see load_window_upper_bound). The same row whenever it is evaluated
    during one build: a load registered after the start is unfinished at the start.
    crm7_build_load_id_sql(loads_relation): that select, over loads_relation
    (ref('stg_raw__loads')).
    crm7_build_load_id(loads_relation): build_load_id as a literal, queried at run time
    (0 at parse time and before the loads view exists; in unit tests a subquery over
    the fixture).
-#}
{% macro crm7_build_load_id_sql(loads_relation) -%}
    with

    loads as (

        select * from {{ loads_relation }}

    ),

    build_start as (

        select '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }} UTC'::timestamptz as started_at

    ),

    unfinished as (

        select min(loads.load_id) as first_unfinished_load_id
        from loads
        cross join build_start
        where
            loads.load_id >= {{ load_window_upper_bound('loads') }}
            or loads.finished_at > build_start.started_at

    ),

    final as (

        select
            build_start.started_at as build_started_at,
            least(
                coalesce((select max(loads.load_id) from loads), 0),
                coalesce(unfinished.first_unfinished_load_id - 1, 9223372036854775807)
            )::bigint as build_load_id
        from unfinished
        cross join build_start

    )

    select * from final
{%- endmacro %}

{% macro crm7_build_load_id(loads_relation) -%}
    {%- if model.resource_type == 'unit_test' -%}
        {{ return('(select build_load_id from (' ~ crm7_build_load_id_sql(loads_relation) ~ ') as build)') }}
    {%- endif -%}
    {%- if not execute or load_relation(loads_relation) is none -%}
        {{ return(0) }}
    {%- endif -%}
    {{ return(run_query(crm7_build_load_id_sql(loads_relation)).columns[1].values()[0] | int) }}
{%- endmacro %}
