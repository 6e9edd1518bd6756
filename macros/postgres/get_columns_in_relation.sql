{#-
    dbt-postgres's get_columns_in_relation, with array columns named by their element
    type ("text[]") instead of information_schema's bare "ARRAY": unit-test fixtures
    cast every column to that type (a raw table's _nil_fields text[] would otherwise
    make every unit test of its staging view fail with a syntax error), and
    on_schema_change adds new columns with it.
-#}
{% macro postgres__get_columns_in_relation(relation) -%}
    {% call statement('get_columns_in_relation', fetch_result=True) %}
        select
            column_name,
            case
                when data_type = 'ARRAY' then format('%s[]', substr(udt_name, 2))
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
