{#-
    True when a *normalised* NIP (see normalize_nip) is exactly 10 digits and its
    check digit is right: sum(digit_i * weight_i for the first 9 digits, weights
    6,5,7,2,3,4,5,6,7) mod 11 equals the 10th digit. A remainder of 10 can never match,
    so such numbers are invalid. False (never NULL) for NULL or malformed input.
    Agrees with python-stdnum's stdnum.pl.nip.is_valid on compacted input.
-#}
{% macro nip_checksum_ok(column) -%}
    {%- set weights = [6, 5, 7, 2, 3, 4, 5, 6, 7] -%}
    case
        when {{ column }} ~ '^[0-9]{10}$'
            then (
            {%- for weight in weights %}
            {{ weight }} * substr({{ column }}, {{ loop.index }}, 1)::int
            {%- if not loop.last %} +{% endif %}
            {%- endfor %}
            ) % 11 = substr({{ column }}, 10, 1)::int
        else false
    end
{%- endmacro %}
