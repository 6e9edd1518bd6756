{#- Deterministic key of one source record: md5(source_system | source_record_id). -#}
{% macro source_record_key(source_system_column, source_record_id_column) -%}
    md5({{ source_system_column }} || '|' || {{ source_record_id_column }})
{%- endmacro %}
