{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='contractor_key',
        on_schema_change='append_new_columns',
        pre_hook="set local enable_nestloop = off",
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'int_contractors_deduplicated_nip_idx', 'columns': ['source_system', 'nip']},
                {'name': 'int_contractors_deduplicated_last_load_idx', 'columns': ['last_load_id']},
            ]) }}",
            "{{ crm7_analyze_if_written(this, ['contractor_key', 'source_system', 'source_record_id', 'nip', 'nip_is_valid', 'is_deleted', 'load_id', 'last_load_id']) }}",
        ],
    )
}}

{%- set new_load_ids = crm7_new_load_ids(ref('stg_raw__loads'), 'contractors') %}

with

contractors as (

    select * from {{ ref('stg_raw__contractors') }}

),

addresses as (

    select * from {{ ref('stg_raw__contractor_addresses') }}

),

phones as (

    select * from {{ ref('stg_raw__contractor_phones') }}

),

emails as (

    select * from {{ ref('stg_raw__contractor_emails') }}

),

{% if is_incremental() %}

existing as (

    select * from {{ this }}

),

{% else %}

existing as (

    {#- Full build: nothing deduplicated yet; same columns as the table, no rows. -#}
    select
        null::text as contractor_key,
        null::text as nip,
        null::text as previous_nip,
        null::bigint as first_load_id,
        null::text as record_hash
    where false

),

{% endif %}

batch_records as not materialized (

    select contractors.*
    from contractors
    where
        contractors.load_id in ({{ new_load_ids | join(', ') if new_load_ids else 'null' }})

),

-- First load per source record: a hash aggregate over narrow key columns.
batch_keys as (

    select
        source_system,
        source_record_id,
        min(load_id) as first_load_id
    from batch_records
    group by source_system, source_record_id

),

-- Latest version per source record by (load_id, record_no): no later version of the
-- same record in the batch (a hash anti-join instead of sorting the wide rows).
latest_records as (

    select
        batch_records.*,
        batch_keys.first_load_id
    from batch_records
    inner join batch_keys
        on
            batch_records.source_system = batch_keys.source_system
            and batch_records.source_record_id = batch_keys.source_record_id
    where not exists (
        select 1
        from batch_records as later_records
        where
            later_records.source_system = batch_records.source_system
            and later_records.source_record_id = batch_records.source_record_id
            and (later_records.load_id, later_records.record_no)
            > (batch_records.load_id, batch_records.record_no)
    )

),

record_emails as (

    select
        emails.load_id,
        emails.record_no,
        array_agg(emails.email order by emails.email_position) as emails
    from emails
    where
        emails.load_id in ({{ new_load_ids | join(', ') if new_load_ids else 'null' }})
        and emails.email is not null
    group by emails.load_id, emails.record_no

),

record_phones as (

    select
        phones.load_id,
        phones.record_no,
        array_agg(phones.phone order by phones.phone_position) as phones
    from phones
    where
        phones.load_id in ({{ new_load_ids | join(', ') if new_load_ids else 'null' }})
        and phones.phone is not null
    group by phones.load_id, phones.record_no

),

record_addresses as (

    select
        addresses.load_id,
        addresses.record_no,
        {%- for address_type in ['registered', 'correspondence'] %}
        {%- for field in ['street', 'building_number', 'flat_number', 'postal_code', 'city', 'country_code'] %}
        max(addresses.{{ field }}) filter (
            where addresses.address_type = '{{ address_type }}'
        ) as {{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        count(*) as address_count
    from addresses
    where
        addresses.load_id in ({{ new_load_ids | join(', ') if new_load_ids else 'null' }})
    group by addresses.load_id, addresses.record_no

),

assembled as (

    select
        latest_records.contractor_key,
        latest_records.source_system,
        latest_records.source_record_id,
        latest_records.source_updated_at,
        latest_records.is_deleted,
        latest_records.name,
        latest_records.short_name,
        latest_records.nip_raw,
        latest_records.nip,
        latest_records.nip_is_valid,
        latest_records.regon_raw,
        latest_records.regon,
        latest_records.regon_is_valid,
        record_phones.phones[1] as main_phone,
        coalesce(record_phones.phones, '{}'::text[]) as phones,
        latest_records.fax,
        record_emails.emails[1] as main_email,
        coalesce(record_emails.emails, '{}'::text[]) as emails,
        latest_records.www,
        {%- for address_type in ['registered', 'correspondence'] %}
        {%- for field in ['street', 'building_number', 'flat_number', 'postal_code', 'city', 'country_code'] %}
        record_addresses.{{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        latest_records.load_id,
        latest_records.record_no,
        latest_records.source_line,
        latest_records.loaded_at,
        latest_records.first_load_id
    from latest_records
    left join record_emails
        on
            latest_records.load_id = record_emails.load_id
            and latest_records.record_no = record_emails.record_no
    left join record_phones
        on
            latest_records.load_id = record_phones.load_id
            and latest_records.record_no = record_phones.record_no
    left join record_addresses
        on
            latest_records.load_id = record_addresses.load_id
            and latest_records.record_no = record_addresses.record_no

),

hashed as (

    select
        *,
        md5(
            row(
                source_updated_at, is_deleted, name, short_name, nip_raw, regon_raw,
                main_phone, phones, fax, main_email, emails, www,
                {%- for address_type in ['registered', 'correspondence'] %}
                {%- for field in ['street', 'building_number', 'flat_number', 'postal_code', 'city', 'country_code'] %}
                {{ address_type }}_{{ field }}{% if not loop.last %},{% endif %}
                {%- endfor %}{% if not loop.last %},{% endif %}
                {%- endfor %}
            )::text
        ) as record_hash
    from assembled

),

final as (

    select
        hashed.contractor_key,
        hashed.source_system,
        hashed.source_record_id,
        hashed.source_updated_at,
        hashed.is_deleted,
        hashed.name,
        hashed.short_name,
        hashed.nip_raw,
        hashed.nip,
        hashed.nip_is_valid,
        case
            when existing.contractor_key is not null and (existing.nip is distinct from hashed.nip)
                then existing.nip
            else existing.previous_nip
        end as previous_nip,
        hashed.regon_raw,
        hashed.regon,
        hashed.regon_is_valid,
        hashed.main_phone,
        hashed.phones,
        hashed.fax,
        hashed.main_email,
        hashed.emails,
        hashed.www,
        {%- for address_type in ['registered', 'correspondence'] %}
        {%- for field in ['street', 'building_number', 'flat_number', 'postal_code', 'city', 'country_code'] %}
        hashed.{{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        hashed.load_id,
        hashed.record_no,
        hashed.source_line,
        hashed.loaded_at,
        coalesce(existing.first_load_id, hashed.first_load_id) as first_load_id,
        hashed.load_id as last_load_id,
        hashed.record_hash,
        now() as deduplicated_at
    from hashed
    left join existing
        on hashed.contractor_key = existing.contractor_key
    where
        existing.contractor_key is null
        or existing.record_hash <> hashed.record_hash

)

select * from final
