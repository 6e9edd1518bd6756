{#-
    One row per company, keyed by a UUID derived from its NIP (stable across runs and
    --full-refresh). A company exists for every NIP some source record is linked to
    (its first valid NIP, int_contractors_deduplicated.linked_nip), and its attributes
    are a function of the current state of those records (so the same whatever the
    build cadence):
    - its records: the linked records not deleted in their source, or all of them
      when every one is deleted;
    - per field, the latest value (by the version that gave it, in (load_id,
      record_no) order) among its records: a record that left a field out gives no
      news, a record that cleared it (xsi:nil) clears it; values of versions naming
      another NIP are never taken;
    - each address type as a unit from the latest record version with one;
    - phones and e-mails: the union over its records, deduplicated on the normalised
      value, newest record first (crm.company_phones / crm.company_emails say which
      source records each came from).
    created_load_id is the load that linked its first record, updated_load_id the last
    load that changed one of the values its records give (a re-send changes nothing).

    Incremental: only companies with a record whose state changed since the last build
    (changed_load_id above audit.crm7_model_watermarks) are recomputed (from all their records), and only those whose attributes_hash changed
    reach the MERGE.
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
            "{{ crm7_save_processed_watermark(ref('int_contractors_deduplicated'), 'changed_load_id') }}",
        ],
    )
}}

{%- set watermark = crm7_processed_watermark() %}

with

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
        null::timestamptz as created_at,
        null::text as attributes_hash
    where false

),

{% endif %}

{% if is_incremental() %}

affected_nips as (

    select distinct linked_nip as nip
    from deduplicated
    where
        linked_nip is not null
        and changed_load_id > {{ watermark }}

),

linked_records as not materialized (

    select deduplicated.*
    from deduplicated
    inner join affected_nips
        on deduplicated.linked_nip = affected_nips.nip

),

{% else %}

linked_records as not materialized (

    {#- Full build: every linked record (no affected_nips to join to). -#}
    select *
    from deduplicated
    where linked_nip is not null

),

{% endif %}

-- Per company: whether any record is still active, and the load of its first link
-- (a hash aggregate over two narrow columns, not a window over whole records).
company_firsts as (

    select
        linked_nip as nip,
        bool_or(not is_deleted) as has_active_records,
        min(linked_load_id) as created_load_id
    from linked_records
    group by linked_nip

),

company_records as (

    select linked_records.*
    from linked_records
    inner join company_firsts
        on linked_records.linked_nip = company_firsts.nip
    where not linked_records.is_deleted or not company_firsts.has_active_records

),

-- Per field the value of the latest version that gave it: max() over the version as 20
-- digits followed by "=" and the value (nothing after the digits: the version cleared it),
-- a hash aggregate instead of one sort per company and field.
aggregated as (

    select
        linked_nip as nip,
        {%- for field in scalar_fields %}
        max(
            (lpad({{ field }}_version::text, 20, '0') || coalesce('=' || {{ field }}, '')) collate "C"
        ) as latest_{{ field }},
        {%- endfor %}
        {%- for address_type in ['registered', 'correspondence'] %}
        max(
            (
                lpad({{ address_type }}_address_version::text, 20, '0') || '='
                || jsonb_build_array(
                    {%- for field in address_fields %}
                    {{ address_type }}_{{ field }}{% if not loop.last %},{% endif %}
                    {%- endfor %}
                )::text
            ) collate "C"
        ) as latest_{{ address_type }}_address,
        {%- endfor %}
        max(
            greatest(
                {%- for field in scalar_fields %}
                {{ field }}_version,
                {%- endfor %}
                registered_address_version,
                correspondence_address_version,
                phones_version,
                emails_version
            )
        ) / 4294967296 as updated_load_id
    from company_records
    group by linked_nip

),

{%- for list_name, item in [('phones', 'phone'), ('emails', 'email')] %}

record_{{ list_name }} as (

    select
        company_records.linked_nip as nip,
        record_items.{{ item }},
        company_records.{{ list_name }}_version,
        record_items.position,
        company_records.contractor_key
    from company_records
    cross join lateral unnest(company_records.{{ list_name }}) with ordinality as record_items ({{ item }}, position)

),

company_{{ list_name }} as (

    select
        nip,
        array_agg({{ item }} order by {{ list_name }}_version desc, position asc, contractor_key asc) as {{ list_name }}
    from (
        select distinct on (nip, {{ item }}) *
        from record_{{ list_name }}
        order by nip asc, {{ item }} asc, {{ list_name }}_version desc, position asc, contractor_key asc
    ) as first_mentions
    group by nip

),

{%- endfor %}

-- Each address parsed once (jsonb), not once per field. OFFSET 0 keeps PostgreSQL from
-- inlining a step into the next ones, which would repeat its expressions (the parse, the
-- md5 below) wherever they are referenced.
parsed as (

    select
        aggregated.nip,
        {%- for field in scalar_fields %}
        nullif(substr(aggregated.latest_{{ field }}, 22), '') as {{ field }},
        {%- endfor %}
        {%- for address_type in ['registered', 'correspondence'] %}
        substr(aggregated.latest_{{ address_type }}_address, 22)::jsonb as {{ address_type }}_address,
        {%- endfor %}
        coalesce(company_phones.phones, '{}'::text[]) as phones,
        coalesce(company_emails.emails, '{}'::text[]) as emails,
        company_firsts.created_load_id,
        aggregated.updated_load_id
    from aggregated
    inner join company_firsts
        on aggregated.nip = company_firsts.nip
    left join company_phones
        on aggregated.nip = company_phones.nip
    left join company_emails
        on aggregated.nip = company_emails.nip
    offset 0  -- noqa: AM09

),

unpacked as (

    select
        {{ company_id_from_nip('nip') }} as company_id,
        nip,
        {%- for field in scalar_fields %}
        {{ field }},
        {%- endfor %}
        {%- for address_type in ['registered', 'correspondence'] %}
        {%- for field in address_fields %}
        {{ address_type }}_address ->> {{ loop.index0 }} as {{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        phones,
        emails,
        created_load_id,
        updated_load_id
    from parsed
    offset 0  -- noqa: AM09

),

hashed as (

    select
        unpacked.*,
        md5(
            row(
                unpacked.nip,
                {%- for field in scalar_fields %}
                unpacked.{{ field }},
                {%- endfor %}
                {%- for address_type in ['registered', 'correspondence'] %}
                {%- for field in address_fields %}
                unpacked.{{ address_type }}_{{ field }},
                {%- endfor %}
                {%- endfor %}
                unpacked.phones,
                unpacked.emails,
                unpacked.created_load_id,
                unpacked.updated_load_id
            )::text
        ) as attributes_hash,
        existing.attributes_hash as existing_attributes_hash,
        existing.created_at as existing_created_at
    from unpacked
    left join existing
        on unpacked.company_id = existing.company_id
    offset 0  -- noqa: AM09

),

final as (

    select
        company_id,
        nip,
        regon,
        name,
        short_name,
        {%- for address_type in ['registered', 'correspondence'] %}
        {%- for field in address_fields %}
        {{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        phones,
        fax,
        emails,
        www,
        attributes_hash,
        created_load_id,
        updated_load_id,
        coalesce(existing_created_at, now()) as created_at,
        phones[1] as main_phone,
        emails[1] as main_email,
        now() as updated_at
    from hashed
    where
        existing_attributes_hash is null
        or existing_attributes_hash <> attributes_hash

)

select * from final
