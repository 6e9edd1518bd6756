{#-
    Fixed schemas: a model's custom schema is used as-is (staging, intermediate, crm,
    audit), not prefixed with the target schema. Models without one land in the
    target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
