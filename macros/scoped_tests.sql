{#-
    Data tests on the big incremental models check only the rows written since the last
    build whose data tests all passed ("tested watermark", audit.crm7_build_state).

    Why this is safe: every row these models write is stamped with the build's load id
    (dedup last_load_id, matched matched_load_id, companies and links updated_load_id;
    warehouse documents deduplicated_load_id / updated_load_id, their lines the
    document's load id), which is higher than any load id of an earlier build that wrote
    rows. Rows are never deleted, except warehouse documents and invoices deleted at the
    source (with their lines and payments): a row-scoped test's result for the rows left
    does not change. crm.invoices rewrites every document of a chain of corrections that
    changed, so an original's state after corrections is tested again when it changes.
    So a row not stamped above the watermark is unchanged since it passed every test. Uniqueness across old and new rows is enforced
    by PostgreSQL on every row (primary keys / unique indexes, see crm7_scoped_models;
    company_links (source_system, source_record_id): unique index in its post_hook),
    so the scoped `unique` test keeps its guarantee. The watermark
    - moves forward only at the end of a complete `dbt build` (no selection, not
      --empty; excluding unit tests, as production builds do, is still complete: they
      read fixtures, not these tables) in which every node succeeded or passed
      (crm7_build_state_end);
    - is reset to 0 on --full-refresh and when any scoped model's table is missing
      (crm7_build_state_start), so the next build tests every row again.
    A failing test keeps the watermark where it was: its rows are tested again next time.
-#}

{#- model name -> load-id column; unique keys for which checking only the scoped rows is
    complete: enforced by the database on every row, or (staging, 'raw') containing the
    load id itself, so two rows with the same key always belong to the same load.
    Staging views read immutable raw rows; their watermark (crm7_raw_tested_load_id) is
    the highest load id below the first load still running, so rows a load commits
    later are always above it. -#}
{% macro crm7_scoped_models() -%}
    {{ return({
        'int_contractors_deduplicated': {'column': 'last_load_id', 'enforced_unique': ['contractor_key']},
        'int_contractors_matched': {'column': 'matched_load_id', 'enforced_unique': ['contractor_key']},
        'companies': {'column': 'updated_load_id', 'enforced_unique': ['company_id', 'nip']},
        'company_links': {'column': 'updated_load_id', 'enforced_unique': ['link_id'],
            'enforced_unique_combinations': [['source_system', 'source_record_id']]},
        'int_warehouse_documents_deduplicated': {'column': 'deduplicated_load_id', 'enforced_unique': ['document_key']},
        'warehouse_documents': {'column': 'updated_load_id', 'enforced_unique': ['document_key']},
        'warehouse_document_lines': {'column': 'document_load_id', 'enforced_unique': ['line_id']},
        'int_invoices_deduplicated': {'column': 'deduplicated_load_id', 'enforced_unique': ['invoice_key']},
        'invoices': {'column': 'updated_load_id', 'enforced_unique': ['invoice_key']},
        'invoice_lines': {'column': 'invoice_load_id', 'enforced_unique': ['line_id']},
        'invoice_payments': {'column': 'invoice_load_id', 'enforced_unique': ['payment_id']},
        'stg_raw__invoices': {'column': 'load_id', 'raw': true,
            'enforced_unique': ['invoice_record_id']},
        'stg_raw__invoice_lines': {'column': 'load_id', 'raw': true,
            'enforced_unique_combinations': [['load_id', 'record_no', 'line_no']]},
        'stg_raw__invoice_vat_totals': {'column': 'load_id', 'raw': true,
            'enforced_unique_combinations': [['load_id', 'record_no', 'vat_total_no']]},
        'stg_raw__invoice_payments': {'column': 'load_id', 'raw': true,
            'enforced_unique_combinations': [['load_id', 'record_no', 'payment_no']]},
        'stg_raw__warehouse_documents': {'column': 'load_id', 'raw': true,
            'enforced_unique': ['document_record_id']},
        'stg_raw__warehouse_document_lines': {'column': 'load_id', 'raw': true,
            'enforced_unique_combinations': [['load_id', 'record_no', 'line_no']]},
        'stg_raw__contractors': {'column': 'load_id', 'raw': true,
            'enforced_unique': ['contractor_record_id']},
        'stg_raw__contractor_addresses': {'column': 'load_id', 'raw': true,
            'enforced_unique_combinations': [['load_id', 'record_no', 'address_position']]},
        'stg_raw__contractor_phones': {'column': 'load_id', 'raw': true,
            'enforced_unique_combinations': [['load_id', 'record_no', 'phone_position']]},
        'stg_raw__contractor_emails': {'column': 'load_id', 'raw': true,
            'enforced_unique_combinations': [['load_id', 'record_no', 'email_position']]},
    }) }}
{%- endmacro %}

{#- Generic tests whose result for a row depends only on that row (and on parents that
    an incremental build never deletes). -#}
{% macro crm7_row_scoped_tests() -%}
    {{ return(['not_null', 'accepted_values', 'relationships', 'valid_nip', 'valid_regon', 'expression_is_true']) }}
{%- endmacro %}

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
    select '{{ name }}', coalesce(max({{ scoped[name].column }}), 0) from {{ relation }}
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

{#- Overrides dbt's get_where_subquery: a test's own `where` config wins; otherwise the
    scoped tests of the scoped models read only rows stamped above the watermark. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- set scoped = crm7_scoped_models() -%}
    {%- set name = relation.identifier if relation is not string else none -%}
    {%- if execute and name in scoped and model.resource_type == 'test'
        and not invocation_args_dict.get('empty') and model.test_metadata is not none -%}
        {%- set test_name = model.test_metadata.name -%}
        {%- set column_name = model.test_metadata.kwargs.get('column_name') -%}
        {%- if test_name in crm7_row_scoped_tests()
            or (test_name == 'unique' and column_name in scoped[name].enforced_unique)
            or (test_name == 'unique_combination_of_columns'
                and model.test_metadata.kwargs.get('combination_of_columns')
                in scoped[name].get('enforced_unique_combinations', [])) -%}
            {%- set watermark = crm7_tested_watermark(name) -%}
            {%- if watermark > 0 -%}
                {%- set filtered -%}
                    (select * from {{ relation }} where {{ scoped[name].column }} > {{ watermark }}) dbt_subquery
                {%- endset -%}
                {%- do return(filtered) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- Post-hook: ANALYZE only when this build's transaction wrote rows to the table (a
    build with nothing new then leaves the table and its statistics alone). Fresh
    statistics matter even after a small change: the next build selects rows above a
    load-id watermark, and without the new load id in the statistics the planner
    expects one row and picks quadratic nested loops.
    ANALYZE waits for an autovacuum of the table (e.g. the one that follows a first
    build) until deadlock_timeout, when PostgreSQL cancels the autovacuum in its favour;
    where the role may (a superuser, as on the embedded server), that wait is 50 ms.
    After a change of less than a tenth of the table, a small sample is enough. -#}
{% macro crm7_analyze_if_written(relation, columns=none) -%}
    {%- set target_relation = relation.include(database=false) -%}
    do $crm7$
    declare
        written bigint;
        known_rows real;
    begin
        select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) into written
        from pg_stat_xact_user_tables
        where relid = '{{ target_relation }}'::regclass;
        select reltuples into known_rows from pg_class
        where oid = '{{ target_relation }}'::regclass;
        if written > 0 then
            begin
                perform set_config('deadlock_timeout', '50ms', true);
            exception when insufficient_privilege then
                null;
            end;
            if known_rows > 0 and written < 0.1 * known_rows then
                -- A small change: a 3,000-row sample still puts the new load id in the
                -- statistics, at a tenth of the cost of the default 30,000.
                perform set_config('default_statistics_target', '10', true);
            end if;
            analyze {{ target_relation }}{% if columns %} ({{ columns | join(', ') }}){% endif %};
        end if;
    end
    $crm7$
{%- endmacro %}

{#- Post-hook: create the indexes a model needs, each only if it is missing. CREATE INDEX
    IF NOT EXISTS would lock the table first, waiting for (and, after deadlock_timeout,
    cancelling) an autovacuum of it on every build; the catalog lookup locks nothing.
    indexes: list of {'name': ..., 'columns': [...], 'unique': bool, 'where': partial-index predicate}. -#}
{% macro crm7_ensure_indexes(relation, indexes) -%}
    {%- set target_relation = relation.include(database=false) -%}
    do $crm7$
    begin
    {%- for index in indexes %}
        if to_regclass('{{ target_relation.schema }}.{{ index.name }}') is null then
            create {{ 'unique ' if index.get('unique') }}index {{ index.name }}
                on {{ target_relation }} ({{ index.columns | join(', ') }})
                {%- if index.get('where') %} where {{ index.where }}{% endif %};
        end if;
    {%- endfor %}
    end
    $crm7$
{%- endmacro %}
