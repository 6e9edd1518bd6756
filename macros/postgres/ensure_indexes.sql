{#- Post-hook: create the indexes a model needs, each only if it is missing. CREATE INDEX
    IF NOT EXISTS would lock the table first, waiting for (and, after deadlock_timeout,
    cancelling) an autovacuum of it on every build; the catalog lookup locks nothing.
    indexes: list of {'name': ..., 'columns': [...], 'unique': bool, 'where': partial-index predicate}.
    A model without an enforced contract declares its unique keys as named model-level
    constraints in its YAML: each becomes a unique index of that name here (created
    first; crm7_unique_keys), so the key is declared once and enforced on every row. -#}
{% macro crm7_ensure_indexes(relation, indexes) -%}
    {%- set target_relation = relation.include(database=false) -%}
    {%- set all_indexes = [] -%}
    {%- for key in crm7_unique_keys(model) if key.enforced_by == 'unique_index' -%}
        {%- do all_indexes.append({'name': key.name, 'columns': key.columns, 'unique': true}) -%}
    {%- endfor -%}
    {%- do all_indexes.extend(indexes) -%}
    do $crm7$
    begin
    {%- for index in all_indexes %}
        if to_regclass('{{ target_relation.schema }}.{{ index.name }}') is null then
            create {{ 'unique ' if index.get('unique') }}index {{ index.name }}
                on {{ target_relation }} ({{ index.columns | join(', ') }})
                {%- if index.get('where') %} where {{ index.where }}{% endif %};
        end if;
    {%- endfor %}
    end
    $crm7$
{%- endmacro %}
