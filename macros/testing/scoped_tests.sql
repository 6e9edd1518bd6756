{#-
    Data tests on the big incremental models check only the rows written since the last
    build whose data tests all passed ("tested watermark", audit.crm7_build_state).

    Why this is safe: every row these models write because of a new load carries a load id
    of that load or later (dedup last_load_id, matched matched_load_id, companies
    updated_load_id, links last_load_id, warehouse documents deduplicated_load_id /
    updated_load_id, invoices updated_load_id, their lines the document's load id), which
    is higher than any load id an earlier build had read. What a build rewrites without a
    load of its own keeps its ids and is not tested again by an incremental build: a
    company whose record was deleted, a link whose review flag another record changed, an
    invoice or line resolved again against later links and dictionaries. --full-refresh
    forgets the watermark and tests every row. Rows are never deleted, except warehouse
    documents and invoices deleted at the source (with their lines and payments): a
    row-scoped test's result for the rows left does not change (an original invoice whose
    chain of corrections changed is rewritten with its own load id, so it is among the
    rewrites above). So a row not stamped above the watermark is unchanged since it passed
    every test, or is one of those rewrites.
    Uniqueness across old and new rows is enforced by PostgreSQL on every row (the
    model's primary key / unique constraints, see crm7_unique_keys), so the scoped
    `unique` test keeps its guarantee. The watermark
    - moves forward only at the end of a complete `dbt build` (no selection, not
      --empty; excluding unit tests, as production builds do, is still complete: they
      read fixtures, not these tables) in which every node succeeded or passed
      (crm7_build_state_end);
    - is reset to 0 on --full-refresh and when any scoped model's table is missing
      (crm7_build_state_start), so the next build tests every row again.
    A failing test keeps the watermark where it was: its rows are tested again next time.
-#}

{#-
    The scoped models, read from the graph: every model of this project whose config has
    meta.crm7_scoped_tests (in its YAML `config: meta:`), so adding a model never means
    editing a list here. Returns model name -> {
    - load_id_column: the column stamped with the load id of the build that wrote the row;
    - raw: true for a staging view over immutable raw rows; its watermark
      (crm7_raw_tested_load_id) is the highest load id below the first load still
      running, so rows a load commits later are always above it;
    - unique_keys: the keys for which checking only the scoped rows is complete. For a
      table, the unique keys its constraints enforce on every row (crm7_unique_keys);
      stating keys in meta is an error there. A staging view has no constraints: its
      meta states unique_keys that contain the load id itself, so two rows with the
      same key always belong to the same load }.
-#}
{% macro crm7_scoped_models() -%}
    {%- set scoped = {} -%}
    {%- if not execute -%}
        {#- At parse time the graph is empty. -#}
        {{ return(scoped) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
        {%- set settings = crm7_scoped_settings(node) -%}
        {%- if settings is not none -%}
            {%- do scoped.update({node.name: settings}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(scoped) }}
{%- endmacro %}

{#- One model's scoped-test settings (as in crm7_scoped_models), none when it has none. -#}
{% macro crm7_scoped_settings(node) -%}
    {%- if node.package_name != project_name or 'crm7_scoped_tests' not in (node.config.meta or {}) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set settings = node.config.meta.crm7_scoped_tests -%}
    {%- if not settings.get('load_id_column') -%}
        {{ exceptions.raise_compiler_error(
            node.name ~ ": meta.crm7_scoped_tests needs a load_id_column") }}
    {%- endif -%}
    {%- if settings.get('raw') -%}
        {%- set unique_keys = settings.get('unique_keys', []) -%}
    {%- elif settings.get('unique_keys') -%}
        {{ exceptions.raise_compiler_error(
            node.name ~ ": a table's scoped unique keys are its constraints, not meta.crm7_scoped_tests") }}
    {%- else -%}
        {%- set unique_keys = [] -%}
        {%- for key in crm7_unique_keys(node) -%}
            {%- do unique_keys.append(key.columns) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({
        'load_id_column': settings.load_id_column,
        'raw': settings.get('raw', false),
        'unique_keys': unique_keys,
    }) }}
{%- endmacro %}

{#- Generic tests whose result for a row depends only on that row (and on parents that
    an incremental build never deletes). -#}
{% macro crm7_row_scoped_tests() -%}
    {{ return(['not_null', 'accepted_values', 'relationships', 'valid_nip', 'valid_regon', 'expression_is_true']) }}
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
    {%- set name = relation.identifier if relation is not string else none -%}
    {#- Only the model the test is attached to is looked up (every generic test calls
        this: reading every node of the graph here cost ~1.5 s per build). -#}
    {%- set attached = graph.nodes.get(model.attached_node) if execute and name
        and model.resource_type == 'test' and model.attached_node else none -%}
    {%- set scoped = crm7_scoped_settings(attached)
        if attached is not none and attached.resource_type == 'model' and attached.alias == name
        else none -%}
    {%- if scoped is not none and not invocation_args_dict.get('empty')
        and model.test_metadata is not none -%}
        {%- set test_name = model.test_metadata.name -%}
        {%- set column_name = model.test_metadata.kwargs.get('column_name') -%}
        {%- if test_name in crm7_row_scoped_tests()
            or (test_name == 'unique' and [column_name] in scoped.unique_keys)
            or (test_name == 'unique_combination_of_columns'
                and model.test_metadata.kwargs.get('combination_of_columns') | list
                in scoped.unique_keys) -%}
            {%- set watermark = crm7_tested_watermark(attached.name) -%}
            {%- if watermark > 0 -%}
                {%- set filtered -%}
                    (select * from {{ relation }} where {{ scoped.load_id_column }} > {{ watermark }}) dbt_subquery
                {%- endset -%}
                {%- do return(filtered) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
