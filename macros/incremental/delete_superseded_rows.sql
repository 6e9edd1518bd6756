{#-
    Post-hook of a child model (lines, payments) merged by (parent, position): deletes the
    rows that the parents' latest versions no longer have. Only parents the
    deduplication rewrote in this build are read (deduplicated_load_id = its maximum);
    a child row of such a parent goes when the parent is deleted or the row belongs to
    an older version (its load column differs from the parent's last_load_id), e.g. a
    document re-sent with fewer lines.
-#}
{% macro crm7_delete_superseded_rows(relation, parents, parent_key, load_column) -%}
    delete from {{ relation }} as children
    using (
        select {{ parent_key }}, last_load_id, is_deleted
        from {{ parents }}
        where deduplicated_load_id = (select max(deduplicated_load_id) from {{ parents }})
    ) as parents
    where
        parents.{{ parent_key }} = children.{{ parent_key }}
        and (parents.is_deleted or children.{{ load_column }} <> parents.last_load_id)
{%- endmacro %}
