{#-
    NIP (Polish tax id) in its compact form, the same as python-stdnum's
    stdnum.pl.nip.compact: whitespace, dashes (any Unicode dash) and dots removed,
    upper-cased, then one leading "PL" prefix removed. NULL when the input is NULL
    or nothing is left.

    The result is not guaranteed to be 10 digits: anything else ("PL7671325342" from
    "PL PL 7671325342", "111111111A") is kept as-is so that nip_checksum_ok() rejects
    it and the raw value stays traceable.
-#}
{% macro normalize_nip(column) -%}
    nullif(
        regexp_replace(
            upper(regexp_replace({{ column }}, '[[:space:].‐‑‒–—―-]+', '', 'g')),
            '^PL',
            ''
        ),
        ''
    )
{%- endmacro %}
