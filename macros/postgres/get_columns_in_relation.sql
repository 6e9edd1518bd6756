{#-
    dbt-postgres' get_columns_in_relation, with array columns named by their type
    (text[]) instead of information_schema's bare 'ARRAY', which dbt would write into
    SQL as cast(null as ARRAY), a syntax error (dbt-labs/dbt-adapters#939): unit tests
    fill the columns a fixture leaves out that way, e.g. raw tables' _nil_fields.
-#}
{% macro postgres__get_columns_in_relation(relation) -%}
    {% call statement('get_columns_in_relation', fetch_result=True) %}
        select
            column_name,
            case
                when data_type = 'ARRAY' then substring(udt_name from 2) || '[]'
                else data_type
            end as data_type,
            character_maximum_length,
            numeric_precision,
            numeric_scale
        from {{ relation.information_schema('columns') }}
        where
            table_name = '{{ relation.identifier }}'
            {% if relation.schema %}
                and table_schema = '{{ relation.schema }}'
            {% endif %}
        order by ordinal_position
    {% endcall %}
    {% set table = load_result('get_columns_in_relation').table %}
    {{ return(sql_convert_columns_in_relation(table)) }}
{%- endmacro %}
