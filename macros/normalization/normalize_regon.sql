{#-
    REGON (Polish statistical business id) in its compact form, as python-stdnum's
    stdnum.pl.regon.compact: whitespace, dashes (any Unicode dash) and dots removed,
    upper-cased. NULL when the input is NULL or nothing is left. Not guaranteed to
    be 9 or 14 digits; regon_checksum_ok() decides validity.
-#}
{% macro normalize_regon(column) -%}
    nullif(
        upper(regexp_replace({{ column }}, '[[:space:].‐‑‒–—―-]+', '', 'g')),
        ''
    )
{%- endmacro %}
