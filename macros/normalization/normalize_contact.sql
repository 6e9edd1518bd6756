{#-
    E-mail address: trimmed and lower-cased (the whole address, local part included:
    CRM matching treats addresses case-insensitively). NULL when empty.
-#}
{% macro normalize_email(column) -%}
    nullif(lower(btrim({{ column }})), '')
{%- endmacro %}

{#-
    Phone or fax number: a leading "+" (if the value starts with one) followed by the
    digits only; spaces, brackets, dots, slashes and dashes are dropped. An extension
    written as "wew. 12", "ext 12" or "w. 12" at the end is kept as " ext 12", so
    "+48 (22) 123-45-67 wew. 12" becomes "+48221234567 ext 12". A "00" international
    prefix is not rewritten to "+". NULL when no digit is left.
-#}
{% macro normalize_phone(column) -%}
    {%- set extension_pattern = "[[:space:]]*(?:wew[.]?|ext[.]?|w[.])[[:space:]]*([0-9]{1,6})[[:space:]]*$" -%}
    case
        when {{ column }} !~ '[0-9]' then null
        when {{ column }} !~* '[a-z]'
            then
                case when {{ column }} ~ '^[[:space:]]*[+]' then '+' else '' end
                || regexp_replace({{ column }}, '[^0-9]', '', 'g')
        when regexp_replace(
            regexp_replace({{ column }}, '{{ extension_pattern }}', '', 'i'), '[^0-9]', '', 'g'
        ) <> ''
            then
                case when {{ column }} ~ '^[[:space:]]*[+]' then '+' else '' end
                || regexp_replace(
                    regexp_replace({{ column }}, '{{ extension_pattern }}', '', 'i'),
                    '[^0-9]',
                    '',
                    'g'
                )
                || coalesce(
                    ' ext ' || substring(
                        lower({{ column }}) from '{{ extension_pattern }}'
                    ),
                    ''
                )
    end
{%- endmacro %}

{#-
    Web address: trimmed, lower-cased, an http:// or https:// scheme and trailing
    slashes removed ("https://www.Firma.pl/" -> "www.firma.pl"). A "www." prefix is
    kept. NULL when empty.
-#}
{% macro normalize_www(column) -%}
    nullif(
        regexp_replace(
            regexp_replace(lower(btrim({{ column }})), '^https?://', ''),
            '/+$',
            ''
        ),
        ''
    )
{%- endmacro %}

{#-
    Postal code: a Polish code (country PL) written as five digits with optional
    spaces or dash becomes "NN-NNN"; anything else is only trimmed. NULL when empty.
-#}
{% macro normalize_postal_code(column, country_column) -%}
    case
        when
            {{ country_column }} = 'PL'
            and {{ column }} ~ '^[[:space:]]*[0-9]{2}[[:space:]-]*[0-9]{3}[[:space:]]*$'
            then regexp_replace(
                {{ column }}, '^[[:space:]]*([0-9]{2})[[:space:]-]*([0-9]{3})[[:space:]]*$', '\1-\2'
            )
        else nullif(btrim({{ column }}), '')
    end
{%- endmacro %}
