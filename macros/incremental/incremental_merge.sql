{#-
    The merge step of every incremental model, run with the session's planner settings.

    A model may switch a planner method off for its own query (int_contractors_deduplicated:
    `set local enable_nestloop = off` in a pre-hook, against nested loops picked on bad
    estimates). The pre-hook holds for the whole transaction, and dbt runs the MERGE in
    that transaction too: without nested loops, merging 10,000 changed rows into a table
    of a million reads all of it (a hash join) instead of 10,000 index lookups (~3x
    slower). So the merge first restores the default.
-#}
{% macro get_incremental_merge_sql(arg_dict) -%}
    set local enable_nestloop to default;
    {{ adapter.dispatch('get_incremental_merge_sql', 'dbt')(arg_dict) }}
{%- endmacro %}
