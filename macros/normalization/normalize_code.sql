{#-
    Dictionary code as written in a file: trimmed, inner runs of whitespace collapsed to
    one space (so "0  KR" is "0 KR"); case is kept. NULL when empty.
-#}
{% macro normalize_code(column) -%}
    nullif(regexp_replace(btrim({{ column }}), '[[:space:]]+', ' ', 'g'), '')
{%- endmacro %}

{#- Key a code is looked up by in a dictionary: normalised and lower-cased. -#}
{% macro code_key(column) -%}
    lower({{ normalize_code(column) }})
{%- endmacro %}

{#-
    GTIN/EAN as a 14-digit GTIN (left-padded with zeros), so that an EAN-13 and the same
    number written as GTIN-14 compare equal. NULL when empty.
-#}
{% macro normalize_gtin(column) -%}
    case
        when nullif(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '') is not null
            then lpad(regexp_replace({{ column }}, '[^0-9]', '', 'g'), 14, '0')
    end
{%- endmacro %}
