{#-
    A SELECT of one row per item of a list column (phones, emails) of the folded source
    records that give a company its values - linked (linked_nip), not deleted in their
    source, or all of them when every one is: company_id, the item (as item_value),
    source_system and source_record ("system:record id"). For a CTE step of its own over
    int_contractors_deduplicated (records_relation).
-#}
{% macro crm7_company_record_items(records_relation, list_column) -%}
    select
        {{ company_id_from_nip('linked_records.linked_nip') }} as company_id,
        record_items.item_value,
        linked_records.source_system,
        linked_records.source_system || ':' || linked_records.source_record_id as source_record
    from (
        select
            records.*,
            bool_or(not records.is_deleted) over (partition by records.linked_nip) as has_active_records
        from {{ records_relation }} as records
        where records.linked_nip is not null
    ) as linked_records
    cross join lateral unnest(linked_records.{{ list_column }}) as record_items (item_value)
    where not linked_records.is_deleted or not linked_records.has_active_records
{%- endmacro %}
