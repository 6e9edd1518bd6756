{#-
    True when a *normalised* REGON (see normalize_regon) is valid, exactly as
    python-stdnum's stdnum.pl.regon.is_valid:
    - 9 digits: sum(d_i * w_i, weights 8,9,2,3,4,5,6,7) mod 11 mod 10 = 9th digit;
    - 14 digits: sum(d_i * w_i, weights 2,4,8,5,0,9,7,3,6,1,2,4,8) mod 11 mod 10 =
      14th digit, AND the first 9 digits are themselves a valid 9-digit REGON.
    False (never NULL) for NULL or malformed input.
-#}
{% macro _regon_weighted_check(column, weights) -%}
    (
        {%- for weight in weights %}
        {{ weight }} * substr({{ column }}, {{ loop.index }}, 1)::int
        {%- if not loop.last %} +{% endif %}
        {%- endfor %}
    ) % 11 % 10
{%- endmacro %}

{% macro regon_checksum_ok(column) -%}
    {%- set weights_9 = [8, 9, 2, 3, 4, 5, 6, 7] -%}
    {%- set weights_14 = [2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8] -%}
    case
        when {{ column }} ~ '^[0-9]{9}$'
                then {{ _regon_weighted_check(column, weights_9) }}
                = substr({{ column }}, 9, 1)::int
        when {{ column }} ~ '^[0-9]{14}$'
                then case
                    when {{ _regon_weighted_check(column, weights_9) }}
                        = substr({{ column }}, 9, 1)::int
                        then {{ _regon_weighted_check(column, weights_14) }}
                        = substr({{ column }}, 14, 1)::int
                    else false
                end
        else false
    end
{%- endmacro %}
