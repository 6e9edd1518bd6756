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
