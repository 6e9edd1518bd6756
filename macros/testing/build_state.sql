{#- Highest load id L such that every load up to L has ended: below the first load still
    running (the loader commits a load's 'running' row before its data, and registers
    loads one at a time, so a reader that sees load n sees every load below n). -#}
{% macro crm7_raw_tested_load_id() -%}
    (
        select least(coalesce(max(loads.load_id), 0), {{ load_window_upper_bound('raw.loads') }} - 1)
        from raw.loads as loads
    )
{%- endmacro %}

{% macro crm7_build_state_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='audit', identifier='crm7_build_state')) }}
{%- endmacro %}

{% macro crm7_scoped_model_relations() -%}
    {%- set relations = {} -%}
    {%- set scoped = crm7_scoped_models() -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.package_name == project_name and node.name in scoped -%}
            {%- do relations.update({node.name: adapter.get_relation(
                database=node.database, schema=node.schema, identifier=node.alias)}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(relations) }}
{%- endmacro %}

{#- on-run-start: create the state table; forget the watermark when it cannot be trusted. -#}
{% macro crm7_build_state_start() -%}
    {%- set state = crm7_build_state_relation() -%}
    create schema if not exists {{ state.schema }};
    create table if not exists {{ state }} (
        model_name text primary key,
        tested_load_id bigint not null,
        updated_at timestamptz not null default now()
    );
    {%- if execute %}
        {%- set relations = crm7_scoped_model_relations() -%}
        {%- set missing = [] -%}
        {%- for name, relation in relations.items() if relation is none -%}
            {%- do missing.append(name) -%}
        {%- endfor -%}
        {%- if flags.FULL_REFRESH or missing or relations | length < crm7_scoped_models() | length %}
    delete from {{ state }};
        {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- on-run-end: advance the watermark after a complete, all-green build. -#}
{% macro crm7_build_state_end(results) -%}
    {%- set state = crm7_build_state_relation() -%}
    {%- set args = invocation_args_dict -%}
    {%- set complete = execute
        and flags.WHICH == 'build'
        and not args.get('empty')
        and not args.get('select')
        and not args.get('exclude')
        and not args.get('selector')
        and not args.get('resource_types')
        and (args.get('exclude_resource_types') or []) | reject('equalto', 'unit_test') | list | length == 0 -%}
    {%- set bad = results | rejectattr('status', 'in', ['success', 'pass']) | list -%}
    {%- if complete and results | length > 0 and bad | length == 0 %}
        {%- set scoped = crm7_scoped_models() -%}
        {%- for name, relation in crm7_scoped_model_relations().items() if relation is not none %}
    insert into {{ state }} (model_name, tested_load_id)
            {%- if scoped[name].get('raw') %}
    select '{{ name }}', {{ crm7_raw_tested_load_id() }}
            {%- else %}
    select '{{ name }}', coalesce(max({{ scoped[name].load_id_column }}), 0) from {{ relation }}
            {%- endif %}
    on conflict (model_name) do update
    set tested_load_id = excluded.tested_load_id, updated_at = now();
        {%- endfor %}
    {%- else %}
    select 1;
    {%- endif %}
{%- endmacro %}

{#- The tested watermark of one model (0: test every row). -#}
{% macro crm7_tested_watermark(model_name) -%}
    {%- set state = crm7_build_state_relation() -%}
    {%- if adapter.get_relation(database=state.database, schema=state.schema, identifier=state.identifier) is none -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set sql -%}
        select coalesce(max(tested_load_id), 0) from {{ state }} where model_name = '{{ model_name }}'
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0] | int) }}
{%- endmacro %}
