{#-
    Bounds of the loads an incremental contractors build may process, as a SQL
    expression. Loads are processed in load_id order, so a load still 'running' holds
    back every newer load: otherwise the newer one would move the watermark past it and
    its rows, committed later, would never be read. The loader commits a load's
    'running' row before its data and registers loads one at a time (so load n is never
    visible before load n-1), and marks failed the running loads whose process died
    when the next load starts; a load still 'running' after
    var('crm7_running_load_grace_hours') is treated as dead.

    load_window_upper_bound(loads_cte): first load_id NOT to process (exclusive);
    loads_cte names a CTE or relation with load_id, status and started_at.
-#}
{% macro load_window_upper_bound(loads_cte) -%}
    coalesce(
        (
            select min(running_loads.load_id)
            from {{ loads_cte }} as running_loads
            where
                running_loads.status = 'running'
                and running_loads.started_at
                > now() - interval '{{ var("crm7_running_load_grace_hours") }} hours'
        ),
        9223372036854775807
    )
{%- endmacro %}
