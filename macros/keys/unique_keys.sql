{#-
    The unique keys that PostgreSQL enforces on every row of a model, read from the
    model's declared constraints (a node of `graph.nodes`, or `model` in a hook):
    - enforced contract: every primary_key / unique constraint, model-level (its
      columns) or column-level (that column); dbt creates them with the table;
    - no enforced contract: named model-level primary_key / unique constraints of a model
      whose post_hook calls crm7_ensure_indexes, which creates each as a unique index of
      that name. Any other constraint of such a model is not enforced and not returned.
    Returns a list of {'name': constraint name or none, 'columns': [...],
    'enforced_by': 'contract' or 'unique_index'}.
-#}
{% macro crm7_unique_keys(node) -%}
    {%- set keys = [] -%}
    {%- set key_types = ['primary_key', 'unique'] -%}
    {%- set enforced = node.config.contract.enforced -%}
    {%- set state = namespace(indexed=false) -%}
    {#- graph.nodes holds configs as dicts (key 'post-hook'), a hook's `model` as objects. -#}
    {%- set hooks = node.config['post-hook'] if node.config is mapping and 'post-hook' in node.config
        else node.config.post_hook -%}
    {%- for hook in hooks or [] if 'crm7_ensure_indexes' in hook.sql -%}
        {%- set state.indexed = true -%}
    {%- endfor -%}
    {%- for constraint in node.constraints if constraint.type in key_types -%}
        {%- if enforced -%}
            {%- do keys.append({'name': constraint.name, 'columns': constraint.columns | list,
                'enforced_by': 'contract'}) -%}
        {%- elif constraint.name and state.indexed -%}
            {%- do keys.append({'name': constraint.name, 'columns': constraint.columns | list,
                'enforced_by': 'unique_index'}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if enforced -%}
        {%- for column in node.columns.values() -%}
            {%- for constraint in column.constraints if constraint.type in key_types -%}
                {%- do keys.append({'name': constraint.name, 'columns': [column.name],
                    'enforced_by': 'contract'}) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(keys) }}
{%- endmacro %}
