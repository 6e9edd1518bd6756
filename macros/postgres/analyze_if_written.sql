{#- Post-hook: ANALYZE only when this build's transaction wrote rows to the table (a
    build with nothing new then leaves the table and its statistics alone). Fresh
    statistics matter even after a small change: the next build selects rows above a
    load-id watermark, and without the new load id in the statistics the planner
    expects one row and picks quadratic nested loops.
    ANALYZE waits for an autovacuum of the table (e.g. the one that follows a first
    build) until deadlock_timeout, when PostgreSQL cancels the autovacuum in its favour;
    where the role may (a superuser, as on the embedded server), that wait is 50 ms.
    After a change of less than a tenth of the table, a small sample is enough. -#}
{% macro crm7_analyze_if_written(relation, columns=none) -%}
    {%- set target_relation = relation.include(database=false) -%}
    do $crm7$
    declare
        written bigint;
        known_rows real;
    begin
        select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) into written
        from pg_stat_xact_user_tables
        where relid = '{{ target_relation }}'::regclass;
        select reltuples into known_rows from pg_class
        where oid = '{{ target_relation }}'::regclass;
        if written > 0 then
            begin
                perform set_config('deadlock_timeout', '50ms', true);
            exception when insufficient_privilege then
                null;
            end;
            if known_rows > 0 and written < 0.1 * known_rows then
                -- A small change: a 3,000-row sample still puts the new load id in the
                -- statistics, at a tenth of the cost of the default 30,000.
                perform set_config('default_statistics_target', '10', true);
            end if;
            analyze {{ target_relation }}{% if columns %} ({{ columns | join(', ') }}){% endif %};
        end if;
    end
    $crm7$
{%- endmacro %}
