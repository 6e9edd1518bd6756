{#- Deterministic company id: a UUID from the normalised NIP (survives --full-refresh). -#}
{% macro company_id_from_nip(nip_column) -%}
    md5('crm7:company:' || {{ nip_column }})::uuid
{%- endmacro %}
