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
