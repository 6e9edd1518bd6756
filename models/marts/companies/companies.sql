{#-
    One row per company, keyed by a UUID derived from its NIP (stable across runs and
    --full-refresh). Attributes come from the source records linked to the company and
    not under review: per field the latest loaded record (load_id, record_no) with a
    non-null value wins, and a value never overwrites an existing one with NULL.
    Addresses, phone and e-mail lists are taken as a whole from the latest record that
    has one.

    Incremental: only companies with a source record decided since the last change are
    recomputed, and only companies whose attributes_hash changed reach the MERGE.
-#}
{%- set address_fields = ['street', 'building_number', 'flat_number', 'postal_code', 'city', 'country_code'] -%}
{%- set scalar_fields = ['regon', 'name', 'short_name', 'fax', 'www'] -%}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='company_id',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'companies_updated_load_idx', 'columns': ['updated_load_id']},
            ]) }}",
            "{{ crm7_analyze_if_written(this) }}",
        ],
    )
}}

{%- set watermark = incremental_watermark('updated_load_id') if is_incremental() else 0 %}
{#- A full build also rebuilds companies whose every record is in review. -#}
{%- set affected_decisions = "('new company', 'linked')" if is_incremental()
    else "('new company', 'linked', 'review')" %}

with

matched as not materialized (

    select * from {{ ref('int_contractors_matched') }}

),

deduplicated as not materialized (

    select * from {{ ref('int_contractors_deduplicated') }}

),

{% if is_incremental() %}

existing as not materialized (

    select * from {{ this }}

),

{% else %}

existing as (

    {#- Full build: no companies yet; same columns as the table, no rows. -#}
    select
        null::uuid as company_id,
        {%- for field in scalar_fields %}
        null::text as {{ field }},
        {%- endfor %}
        {%- for address_type in ['registered', 'correspondence'] %}
        {%- for field in address_fields %}
        null::text as {{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        null::text[] as phones,
        null::text[] as emails,
        null::bigint as created_load_id,
        null::timestamptz as created_at,
        null::text as attributes_hash
    where false

),

{% endif %}

build as (

    select coalesce(max(matched_load_id), 0) as build_load_id
    from matched

),

affected_companies as (

    select
        company_id,
        bool_or(decision in ('new company', 'linked')) as has_matched_records
    from matched
    where
        company_id is not null
        and decision in {{ affected_decisions }}
        and matched_load_id > {{ watermark }}
    group by company_id

),

contributing_records as (

    {#- Records in review never update a company. Only on a full rebuild, a company
        whose every linked record is in review (e.g. after a NIP change) is rebuilt
        from those records rather than dropped. -#}
    select
        deduplicated.*,
        matched.company_id,
        matched.linked_nip,
        case when deduplicated.regon_is_valid then deduplicated.regon end as valid_regon
    from matched
    inner join affected_companies
        on matched.company_id = affected_companies.company_id
    inner join deduplicated
        on matched.contractor_key = deduplicated.contractor_key
    where
        matched.decision in ('new company', 'linked')
        or not affected_companies.has_matched_records

),

aggregated as (

    select
        company_id,
        min(linked_nip) as nip,
        {%- for field in scalar_fields %}
        (
            array_agg({{ 'valid_regon' if field == 'regon' else field }} order by load_id desc, record_no desc)
            filter (where {{ 'valid_regon' if field == 'regon' else field }} is not null)
        )[1] as {{ field }},
        {%- endfor %}
        {%- for address_type in ['registered', 'correspondence'] %}
        (
            array_agg(
                jsonb_build_array(
                    {%- for field in address_fields %}
                    {{ address_type }}_{{ field }}{% if not loop.last %},{% endif %}
                    {%- endfor %}
                )
                order by load_id desc, record_no desc
            ) filter (
                where
                {%- for field in address_fields %}
                {{ address_type }}_{{ field }} is not null{% if not loop.last %} or{% endif %}
                {%- endfor %}
            )
        )[1] as {{ address_type }}_address,
        {%- endfor %}
        (
            array_agg(to_jsonb(phones) order by load_id desc, record_no desc)
            filter (where cardinality(phones) > 0)
        )[1] as phones_json,
        (
            array_agg(to_jsonb(emails) order by load_id desc, record_no desc)
            filter (where cardinality(emails) > 0)
        )[1] as emails_json
    from contributing_records
    group by company_id

),

unpacked as (

    select
        company_id,
        nip,
        {%- for field in scalar_fields %}
        {{ field }},
        {%- endfor %}
        {%- for address_type in ['registered', 'correspondence'] %}
        {{ address_type }}_address is not null as has_{{ address_type }}_address,
        {%- for field in address_fields %}
        {{ address_type }}_address ->> {{ loop.index0 }} as {{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        case
            when phones_json is not null
                then array(select jsonb_array_elements_text(phones_json))
        end as phones,
        case
            when emails_json is not null
                then array(select jsonb_array_elements_text(emails_json))
        end as emails
    from aggregated

),

merged as (

    select
        unpacked.company_id,
        unpacked.nip,
        {% for field in scalar_fields %}
        coalesce(unpacked.{{ field }}, existing.{{ field }}) as {{ field }},
        {% endfor %}
        {% for address_type in ['registered', 'correspondence'] %}
        {% for field in address_fields %}
        case
            when unpacked.has_{{ address_type }}_address
                then unpacked.{{ address_type }}_{{ field }}
            else existing.{{ address_type }}_{{ field }}
        end as {{ address_type }}_{{ field }},
        {% endfor %}
        {% endfor %}
        coalesce(unpacked.phones, existing.phones, '{}'::text[]) as phones,
        coalesce(unpacked.emails, existing.emails, '{}'::text[]) as emails,
        coalesce(existing.created_load_id, build.build_load_id) as created_load_id,
        coalesce(existing.created_at, now()) as created_at,
        existing.attributes_hash as existing_attributes_hash
    from unpacked
    cross join build
    left join existing
        on unpacked.company_id = existing.company_id

),

hashed as (

    select
        *,
        md5(
            row(
                nip,
                {%- for field in scalar_fields %}
                {{ field }},
                {%- endfor %}
                {%- for address_type in ['registered', 'correspondence'] %}
                {%- for field in address_fields %}
                {{ address_type }}_{{ field }},
                {%- endfor %}
                {%- endfor %}
                phones,
                emails
            )::text
        ) as attributes_hash
    from merged

),

changed as (

    select *
    from hashed
    where
        existing_attributes_hash is null
        or existing_attributes_hash <> attributes_hash

),

final as (

    select
        changed.company_id,
        changed.nip,
        changed.regon,
        changed.name,
        changed.short_name,
        {%- for address_type in ['registered', 'correspondence'] %}
        {%- for field in address_fields %}
        changed.{{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        changed.phones,
        changed.fax,
        changed.emails,
        changed.www,
        changed.attributes_hash,
        changed.created_load_id,
        build.build_load_id as updated_load_id,
        changed.created_at,
        changed.phones[1] as main_phone,
        changed.emails[1] as main_email,
        now() as updated_at
    from changed
    cross join build

)

select * from final
