{#-
    The version of a field's last change in a fold of record versions
    (int_contractors_deduplicated): the start of the run of equal values the window ends
    with (value_runs), or the stored version when the window only repeated the stored
    value, or the stored version when the window did not give the field at all. So a
    re-sent, equal value keeps the version of the change.
-#}
{%- macro crm7_change_version(field, window_version, existing_value, window_value, existing='existing', runs='value_runs') -%}
    case
            when {{ window_version }} is null then {{ existing }}.{{ field }}_version
            when
                coalesce({{ runs }}.is_{{ field }}_unchanged_in_window, true)
                and {{ existing }}.{{ field }}_version is not null
                and ({{ existing_value }} is not distinct from {{ window_value }})
                then {{ existing }}.{{ field }}_version
            else coalesce({{ runs }}.{{ field }}_run_start, {{ window_version }})
        end
{%- endmacro -%}

{#- A row constructor of one address type's fields of a relation, for comparisons. -#}
{%- macro crm7_address_row(relation, address_type, address_fields) -%}
    ({% for field in address_fields %}{{ relation }}.{{ address_type }}_{{ field }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro -%}
