{#-
    E-mail address: trimmed and lower-cased (the whole address, local part included:
    CRM matching treats addresses case-insensitively). NULL when empty.
-#}
{% macro normalize_email(column) -%}
    nullif(lower(btrim({{ column }})), '')
{%- endmacro %}

{#-
    Phone or fax number as the CRM keeps it: the E.164 form the loader derived with
    phonenumbers (raw <column>_e164, e.g. "+48226543210"), with the extension the
    number was written with appended as ";ext=15" (RFC 3966). NULL when the loader
    could not read the value as a possible number: such values are not taken, and the
    record gets review reason invalid_phone.
-#}
{% macro phone_from_e164(e164_column, extension_column) -%}
    {{ e164_column }} || coalesce(';ext=' || {{ extension_column }}, '')
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
