{#-
    dbt's test materialization, storing failures only when there are any.

    dbt's own version drops and re-creates every test's audit table on every build (two
    DDL statements per test, each invalidating catalog caches in every session), even
    when the test passes, which is almost always. Here the test query runs first; then
    - failures: the audit table is replaced by the failing rows (as dbt does);
    - no failures: an existing audit table is emptied with DELETE (no DDL), and one is
      created only the first time.
    So audit.<test> still holds exactly the failures of the test's latest run, empty
    when it passed, and a build where everything passes runs no DDL in audit.
    store_failures_as: view, and tests that do not store failures, behave as in dbt.
-#}
{%- materialization test, default -%}

  {%- set relations = [] -%}
  {%- set limit = config.get('limit') -%}
  {%- set sql_header = config.get('sql_header') if flags.REQUIRE_SQL_HEADER_IN_TEST_CONFIGS else none -%}
  {%- set fail_calc = config.get('fail_calc') -%}
  {%- set warn_if = config.get('warn_if') -%}
  {%- set error_if = config.get('error_if') -%}

  {%- set sql_with_limit -%}
    {{ get_limit_subquery_sql(sql, limit) }}
  {%- endset -%}

  {%- set store_failures_as = config.get('store_failures_as') or 'table' -%}
  {%- if store_failures_as not in ['table', 'view'] -%}
    {{ exceptions.raise_compiler_error(
        "'" ~ store_failures_as ~ "' is not a valid value for `store_failures_as`. "
        "Accepted values are: ['ephemeral', 'table', 'view']"
    ) }}
  {%- endif -%}
  {%- set store_table = should_store_failures() and store_failures_as == 'table' -%}
  {%- set store_view = should_store_failures() and store_failures_as == 'view' -%}

  {%- if store_view -%}
    {%- set old_relation = adapter.get_relation(database=database, schema=schema, identifier=model['alias']) -%}
    {%- set target_relation = api.Relation.create(
        identifier=model['alias'], schema=schema, database=database, type='view') -%}
    {%- if old_relation -%}
      {%- do adapter.drop_relation(old_relation) -%}
    {%- endif -%}
    {%- call statement(auto_begin=True) -%}
      {% if sql_header %}{{ sql_header }}{% endif %}
      {{ get_create_sql(target_relation, sql_with_limit) }}
    {%- endcall -%}
    {%- do relations.append(target_relation) -%}
    {%- set main_sql -%}
      select * from {{ target_relation }}
    {%- endset -%}
    {{ adapter.commit() }}
  {%- else -%}
    {%- set main_sql = sql_with_limit -%}
  {%- endif -%}

  {%- call statement('main', fetch_result=True) -%}
    {% if sql_header %}{{ sql_header }}{% endif %}
    {{ get_test_sql(main_sql, fail_calc, warn_if, error_if, limit=none) }}
  {%- endcall -%}

  {%- if store_table -%}
    {%- set failures = load_result('main')['table'].columns['failures'].values()[0] -%}
    {%- set old_relation = adapter.get_relation(database=database, schema=schema, identifier=model['alias']) -%}
    {%- set target_relation = api.Relation.create(
        identifier=model['alias'], schema=schema, database=database, type='table') -%}
    {%- if failures == 0 and old_relation is not none and old_relation.is_table -%}
      {%- call statement('crm7_clear_failures', auto_begin=True) -%}
        delete from {{ old_relation }}
      {%- endcall -%}
    {%- else -%}
      {%- if old_relation is not none -%}
        {%- do adapter.drop_relation(old_relation) -%}
      {%- endif -%}
      {%- call statement('crm7_store_failures', auto_begin=True) -%}
        {% if sql_header %}{{ sql_header }}{% endif %}
        {{ get_create_sql(target_relation, sql_with_limit) }}
      {%- endcall -%}
    {%- endif -%}
    {%- do relations.append(target_relation) -%}
    {{ adapter.commit() }}
  {%- endif -%}

  {{ return({'relations': relations}) }}

{%- endmaterialization -%}
