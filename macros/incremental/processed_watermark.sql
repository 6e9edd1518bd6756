{#-
    Bookkeeping of an incremental model whose rows carry no column that says which
    upstream rows it has already read (crm.company_links: a link changes when another
    record's duplicate NIP appears, not only when its own record is loaded again).
    audit.crm7_model_watermarks keeps, per model, the highest value of an upstream
    column the model's last build had read; it is build bookkeeping outside crm.*, so
    the model's rows stay a function of the loads.

    crm7_processed_watermark(key): that value as a literal (0 on a full build, when the
    table or the row is missing, and at parse time); key tells apart the upstreams of a
    model that reads several.
    crm7_save_processed_watermark(upstream, column, key): post-hook storing max(column)
    of upstream for the model.
-#}
{% macro crm7_processed_watermark(key='') -%}
    {%- if not execute or not is_incremental() or model.resource_type == 'unit_test' -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set table = adapter.get_relation(database=target.database, schema='audit', identifier='crm7_model_watermarks') -%}
    {%- if table is none -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set watermark_sql -%}
        select coalesce(max(watermark), 0) from {{ table }} where model_name = '{{ this.identifier ~ (":" ~ key if key else "") }}'
    {%- endset -%}
    {{ return(run_query(watermark_sql).columns[0].values()[0] | int) }}
{%- endmacro %}

{% macro crm7_save_processed_watermark(upstream, column, key='') -%}
    create schema if not exists audit;
    create table if not exists audit.crm7_model_watermarks (
        model_name text primary key,
        watermark bigint not null,
        updated_at timestamptz not null default now()
    );
    insert into audit.crm7_model_watermarks as watermarks (model_name, watermark)
    select '{{ this.identifier ~ (":" ~ key if key else "") }}', coalesce(max({{ column }}), 0) from {{ upstream }}
    on conflict (model_name) do update
    set watermark = excluded.watermark, updated_at = now()
{%- endmacro %}
