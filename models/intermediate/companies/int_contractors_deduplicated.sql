{#-
    One row per source record (source_system, source_record_id): the fold of all its
    loaded versions in (load_id, record_no) order, so that the result is the same
    whether the versions arrive in one build or in many (see the README, "How records
    become companies"):
    - per field, the latest version that gave it (a value, or xsi:nil="true": cleared)
      wins; a left-out element is "no news";
    - each address type is a unit: the latest version with an address of that type
      gives all its fields; the phone and e-mail lists likewise;
    - the link: linked_nip is the first valid NIP the record ever had (linked_version
      the version that had it); it never moves;
    - the values a company takes (every field above) come only from versions that do
      not name another NIP than the link's: a version giving another NIP (nip_changed)
      or clearing it holds its values back;
    - nip / nip_raw / nip_is_valid are the record's current NIP (latest version giving
      one, from every version), is_deleted and the lineage columns the latest version's;
    - first_load_id / last_load_id: first and last load that contained the record.

    Incremental: a build reads only loads newer than max(last_load_id) (and older than
    any load still running) and folds them into the stored state; the fold is
    associative, so any build cadence and a --full-refresh give the same rows.
-#}
{%- set address_types = ['registered', 'correspondence'] -%}
{%- set address_fields = ['street', 'building_number', 'flat_number', 'postal_code', 'city', 'country_code'] -%}
{#- Fields a company takes: per field the columns it carries (name: staging expression) and
    which versions give it. An invalid REGON or fax is not taken (the value before it stays);
    invalid_regon / invalid_fax remember that the latest one given was invalid, for review. -#}
{%- set company_fields = {
    'name': {'columns': {'name': 'name'}, 'given': 'true', 'compared': 'name'},
    'short_name': {'columns': {'short_name': 'short_name'}, 'given': 'is_short_name_given', 'compared': 'short_name'},
    'regon': {
        'columns': {'regon_raw': 'regon_raw', 'regon': 'regon'},
        'given': 'is_regon_given and (regon_is_valid or regon_raw is null)',
        'compared': 'regon',
    },
    'invalid_regon': {
        'columns': {'has_invalid_regon': 'not coalesce(regon_is_valid, false) and regon_raw is not null'},
        'given': 'is_regon_given',
    },
    'fax': {
        'columns': {'fax': 'fax'},
        'given': 'is_fax_given and (fax is not null or fax_raw is null)',
        'compared': 'fax',
    },
    'invalid_fax': {
        'columns': {'has_invalid_fax': 'fax is null and fax_raw is not null'},
        'given': 'is_fax_given',
    },
    'www': {'columns': {'www': 'www'}, 'given': 'is_www_given', 'compared': 'www'},
} -%}
{#- The fields a company takes: their version is the version of their last change. -#}
{%- set change_fields = [
    'name', 'short_name', 'regon', 'fax', 'www',
    'registered_address', 'correspondence_address', 'phones', 'emails',
] -%}
{%- set latest_version_columns = [
    'source_system', 'source_record_id', 'source_updated_at', 'is_deleted',
    'load_id', 'record_no', 'source_line', 'loaded_at',
] -%}
{#- The folded state's columns, in table order (hashed and selected alike). -#}
{%- set folded_columns = [] -%}
{%- for field, spec in company_fields.items() -%}
{%- do folded_columns.extend(spec.columns | list + [field ~ '_version']) -%}
{%- endfor -%}
{%- for address_type in address_types -%}
{%- for field in address_fields + ['address_version'] -%}
{%- do folded_columns.append(address_type ~ '_' ~ field) -%}
{%- endfor -%}
{%- endfor -%}
{#- The planner sees ~200 rows for every step grouped by contractor_key (a computed key,
    without statistics): nested loops would be quadratic, and on a full build merge joins
    sort a million rows each; hash joins it is. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='contractor_key',
        on_schema_change='append_new_columns',
        pre_hook=[
            "set local enable_nestloop = off",
            "set local enable_mergejoin = {{ 'on' if is_incremental() else 'off' }}",
        ],
        post_hook=[
            "{{ crm7_ensure_indexes(this, [
                {'name': 'int_contractors_deduplicated_nip_idx', 'columns': ['source_system', 'nip']},
                {'name': 'int_contractors_deduplicated_linked_nip_idx', 'columns': ['linked_nip']},
                {'name': 'int_contractors_deduplicated_last_load_idx', 'columns': ['last_load_id']},
                {'name': 'int_contractors_deduplicated_changed_load_idx', 'columns': ['changed_load_id']},
            ]) }}",
            "{{ crm7_analyze_if_written(this, ['contractor_key', 'source_system', 'source_record_id', 'nip', 'nip_is_valid', 'linked_nip', 'is_deleted', 'load_id', 'last_load_id', 'changed_load_id']) }}",
        ],
    )
}}

{%- set new_load_ids = crm7_new_load_ids(ref('stg_raw__loads'), 'contractors') %}
{%- set window = new_load_ids | join(', ') if new_load_ids else 'null' %}

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

    {#- Full build: nothing folded yet; same columns as the table, no rows. -#}
    select
        null::text as contractor_key,
        null::text as linked_nip,
        null::bigint as linked_load_id,
        null::bigint as linked_version,
        null::bigint as first_load_id,
        null::text as nip_raw,
        null::text as nip,
        null::boolean as nip_is_valid,
        null::bigint as nip_version,
        {%- for field, spec in company_fields.items() %}
        {%- for column in spec.columns %}
        null::{{ 'boolean' if column.startswith('has_') else 'text' }} as {{ column }},
        {%- endfor %}
        null::bigint as {{ field }}_version,
        {%- endfor %}
        {%- for address_type in address_types %}
        {%- for field in address_fields %}
        null::text as {{ address_type }}_{{ field }},
        {%- endfor %}
        null::bigint as {{ address_type }}_address_version,
        {%- endfor %}
        null::text[] as phones,
        null::boolean as has_invalid_phone,
        null::bigint as phones_version,
        null::text[] as emails,
        null::bigint as emails_version,
        null::text as record_hash,
        null::text as content_hash,
        null::bigint as changed_load_id
    where false

),

{% endif %}

batch_records as not materialized (

    select contractors.*
    from contractors
    where contractors.load_id in ({{ window }})

),

-- Per source record: what the window says about its link, first and latest version.
batch_keys as (

    select
        contractor_key,
        min(load_id) as first_load_id,
        max(record_version) as latest_version,
        count(*) as version_count,
        (array_agg(nip order by record_version) filter (where nip_is_valid))[1] as first_valid_nip,
        min(record_version) filter (where nip_is_valid) as first_valid_version
    from batch_records
    group by contractor_key

),

key_links as (

    select
        batch_keys.contractor_key,
        batch_keys.latest_version,
        batch_keys.version_count,
        coalesce(existing.first_load_id, batch_keys.first_load_id) as first_load_id,
        coalesce(existing.linked_nip, batch_keys.first_valid_nip) as linked_nip,
        case
            when existing.linked_nip is not null then existing.linked_version
            else batch_keys.first_valid_version
        end as linked_version
    from batch_keys
    left join existing
        on batch_keys.contractor_key = existing.contractor_key

),

-- Every version of the window, marked when its values go to the link's company: it
-- leaves the NIP out (no news) or gives the link's NIP.
versions as (

    select
        batch_records.*,
        key_links.linked_nip as key_linked_nip,
        key_links.version_count,
        (
            not batch_records.is_nip_given
            or coalesce(batch_records.nip = key_links.linked_nip, false)
        ) as is_for_link
    from batch_records
    inner join key_links
        on batch_records.contractor_key = key_links.contractor_key

),

version_addresses as (

    select
        versions.contractor_key,
        versions.record_version,
        addresses.address_type,
        addresses.address_position,
        addresses.is_nil,
        {%- for field in address_fields %}
        addresses.{{ field }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from addresses
    inner join versions
        on
            addresses.load_id = versions.load_id
            and addresses.record_no = versions.record_no
    where
        addresses.load_id in ({{ window }})
        and versions.is_for_link

),

-- Per record and address type, the latest version with one, its first address of that
-- type (one sort; the pivot below then reads one row per type).
latest_addresses as (

    select distinct on (contractor_key, address_type) *
    from version_addresses
    order by contractor_key asc, address_type asc, record_version desc, address_position asc

),

window_addresses as (

    select
        contractor_key,
        {%- for address_type in address_types %}
        max(record_version) filter (where address_type = '{{ address_type }}') as {{ address_type }}_address_version,
        {%- for field in address_fields %}
        max(case when not is_nil then {{ field }} end) filter (
            where address_type = '{{ address_type }}'
        ) as {{ address_type }}_{{ field }},
        {%- endfor %}
        {%- endfor %}
        count(*) as address_type_count
    from latest_addresses
    group by contractor_key

),

version_phones as (

    select
        versions.contractor_key,
        versions.record_version,
        versions.version_count,
        array_agg(phones.phone order by phones.phone_position) filter (
            where not phones.is_nil and phones.phone is not null
        ) as phones,
        bool_or(not phones.is_nil and phones.phone is null) as has_invalid_phone
    from phones
    inner join versions
        on
            phones.load_id = versions.load_id
            and phones.record_no = versions.record_no
    where
        phones.load_id in ({{ window }})
        and versions.is_for_link
    group by versions.contractor_key, versions.record_version, versions.version_count

),

-- A record with one version in the window (every record of a first build, most of
-- any other) needs no sort to find its latest one.
window_phones as (

    select
        contractor_key,
        has_invalid_phone,
        record_version as phones_version,
        coalesce(phones, '{}'::text[]) as phones
    from version_phones
    where version_count = 1

    union all

    (
        select distinct on (contractor_key)
            contractor_key,
            has_invalid_phone,
            record_version as phones_version,
            coalesce(phones, '{}'::text[]) as phones
        from version_phones
        where version_count > 1
        order by contractor_key asc, record_version desc
    )

),

version_emails as (

    select
        versions.contractor_key,
        versions.record_version,
        versions.version_count,
        array_agg(emails.email order by emails.email_position) filter (
            where not emails.is_nil and emails.email is not null
        ) as emails
    from emails
    inner join versions
        on
            emails.load_id = versions.load_id
            and emails.record_no = versions.record_no
    where
        emails.load_id in ({{ window }})
        and versions.is_for_link
    group by versions.contractor_key, versions.record_version, versions.version_count

),

window_emails as (

    select
        contractor_key,
        record_version as emails_version,
        coalesce(emails, '{}'::text[]) as emails
    from version_emails
    where version_count = 1

    union all

    (
        select distinct on (contractor_key)
            contractor_key,
            record_version as emails_version,
            coalesce(emails, '{}'::text[]) as emails
        from version_emails
        where version_count > 1
        order by contractor_key asc, record_version desc
    )

),

-- Per field, the latest version of the window that gave it. A record with one version
-- in the window gives its own values (the aggregates below, over one row, give the same).
single_version_fields as (

    select
        contractor_key,
        {%- for column in latest_version_columns %}
        {{ column }},
        {%- endfor %}
        {%- for column in ['nip_raw', 'nip', 'nip_is_valid'] %}
        case when is_nip_given then {{ column }} end as {{ column }},
        {%- endfor %}
        case when is_nip_given then record_version end as nip_version,
        {%- for field, spec in company_fields.items() %}
        {%- for column, expression in spec.columns.items() %}
        case when is_for_link and {{ spec.given }} then {{ expression }} end as {{ column }},
        {%- endfor %}
        case when is_for_link and {{ spec.given }} then record_version end as {{ field }}_version,
        {%- endfor %}
        load_id as last_load_id
    from versions
    where version_count = 1

),

multi_version_fields as (

    select
        contractor_key,
        {%- for column in latest_version_columns %}
        (array_agg({{ column }} order by record_version desc))[1] as {{ column }},
        {%- endfor %}
        {%- for column in ['nip_raw', 'nip', 'nip_is_valid'] %}
        (array_agg({{ column }} order by record_version desc) filter (where is_nip_given))[1] as {{ column }},
        {%- endfor %}
        max(record_version) filter (where is_nip_given) as nip_version,
        {%- for field, spec in company_fields.items() %}
        {%- for column, expression in spec.columns.items() %}
        (
            array_agg({{ expression }} order by record_version desc)
            filter (where is_for_link and {{ spec.given }})
        )[1] as {{ column }},
        {%- endfor %}
        max(record_version) filter (where is_for_link and {{ spec.given }}) as {{ field }}_version,
        {%- endfor %}
        max(load_id) as last_load_id
    from versions
    where version_count > 1
    group by contractor_key

),

window_fields as (

    select * from single_version_fields

    union all

    select * from multi_version_fields

),

-- A field's version is the version that last CHANGED it: a re-sent, equal value keeps the
-- version of the change (so the latest change among a company's records wins, not the
-- latest re-send). For a record with several versions in the window, the run of equal
-- values at the end of the window starts after the last version that differed.
multi_version_keys as (

    select contractor_key
    from batch_keys
    where version_count > 1

),

multi_versions as (

    select versions.*
    from versions
    inner join multi_version_keys
        on versions.contractor_key = multi_version_keys.contractor_key
    where versions.is_for_link

),

-- The first address of each type of every version of a record with several.
multi_version_first_addresses as (

    select distinct on (contractor_key, record_version, address_type) *
    from version_addresses
    where contractor_key in (select multi_version_keys.contractor_key from multi_version_keys)
    order by contractor_key asc, record_version asc, address_type asc, address_position asc

),

given_values as (
    {%- for field, spec in company_fields.items() if field in change_fields %}

    select
        contractor_key,
        record_version,
        '{{ field }}' as field,
        {{ spec.compared }}::text as value
    from multi_versions
    where {{ spec.given }}

    union all
    {%- endfor %}

    select
        multi_version_first_addresses.contractor_key,
        multi_version_first_addresses.record_version,
        multi_version_first_addresses.address_type || '_address' as field,
        jsonb_build_array(
            {%- for field in address_fields %}
            case
                when not multi_version_first_addresses.is_nil then multi_version_first_addresses.{{ field }}
            end{% if not loop.last %},{% endif %}
            {%- endfor %}
        )::text as value
    from multi_version_first_addresses

    union all

    select
        version_phones.contractor_key,
        version_phones.record_version,
        'phones' as field,
        coalesce(version_phones.phones, '{}'::text[])::text as value
    from version_phones
    inner join multi_version_keys
        on version_phones.contractor_key = multi_version_keys.contractor_key

    union all

    select
        version_emails.contractor_key,
        version_emails.record_version,
        'emails' as field,
        coalesce(version_emails.emails, '{}'::text[])::text as value
    from version_emails
    inner join multi_version_keys
        on version_emails.contractor_key = multi_version_keys.contractor_key

),

latest_given_values as (

    select distinct on (contractor_key, field)
        contractor_key,
        field,
        value
    from given_values
    order by contractor_key asc, field asc, record_version desc

),

value_breaks as (

    select
        given_values.contractor_key,
        given_values.field,
        max(given_values.record_version) filter (
            where given_values.value is distinct from latest_given_values.value
        ) as break_version
    from given_values
    inner join latest_given_values
        on
            given_values.contractor_key = latest_given_values.contractor_key
            and given_values.field = latest_given_values.field
    group by given_values.contractor_key, given_values.field

),

value_runs as (

    select
        given_values.contractor_key,
        {%- for field in change_fields %}
        bool_or(value_breaks.break_version is null) filter (
            where given_values.field = '{{ field }}'
        ) as is_{{ field }}_unchanged_in_window,
        min(given_values.record_version) filter (
            where
            given_values.field = '{{ field }}'
            and given_values.record_version > coalesce(value_breaks.break_version, 0)
        ) as {{ field }}_run_start,
        {%- endfor %}
        count(*) as value_count
    from given_values
    inner join value_breaks
        on
            given_values.contractor_key = value_breaks.contractor_key
            and given_values.field = value_breaks.field
    group by given_values.contractor_key

),

-- The window folded into the stored state: a field the window gave replaces it.
folded as (

    select
        key_links.contractor_key,
        window_fields.source_system,
        window_fields.source_record_id,
        window_fields.source_updated_at,
        window_fields.is_deleted,
        {%- for column in ['nip_raw', 'nip', 'nip_is_valid'] %}
        case
            when window_fields.nip_version is not null then window_fields.{{ column }}
            else existing.{{ column }}
        end as {{ column }},
        {%- endfor %}
        coalesce(window_fields.nip_version, existing.nip_version) as nip_version,
        key_links.linked_nip,
        key_links.linked_version,
        key_links.linked_version / 4294967296 as linked_load_id,
        {%- for field, spec in company_fields.items() %}
        {%- for column in spec.columns %}
        case
            when window_fields.{{ field }}_version is not null then window_fields.{{ column }}
            else existing.{{ column }}
        end as {{ column }},
        {%- endfor %}
        {%- if field in change_fields %}
        {%- set window_version = 'window_fields.' ~ field ~ '_version' %}
        {%- set existing_value = 'existing.' ~ spec.compared %}
        {%- set window_value = 'window_fields.' ~ spec.compared %}
        {{ crm7_change_version(field, window_version, existing_value, window_value) }} as {{ field }}_version,
        {%- else %}
        coalesce(window_fields.{{ field }}_version, existing.{{ field }}_version) as {{ field }}_version,
        {%- endif %}
        {%- endfor %}
        {%- for address_type in address_types %}
        {%- for field in address_fields %}
        case
            when window_addresses.{{ address_type }}_address_version is not null
                then window_addresses.{{ address_type }}_{{ field }}
            else existing.{{ address_type }}_{{ field }}
        end as {{ address_type }}_{{ field }},
        {%- endfor %}
        {%- set field_name = address_type ~ '_address' %}
        {%- set window_version = 'window_addresses.' ~ field_name ~ '_version' %}
        {%- set existing_value = crm7_address_row('existing', address_type, address_fields) %}
        {%- set window_value = crm7_address_row('window_addresses', address_type, address_fields) %}
        {{ crm7_change_version(field_name, window_version, existing_value, window_value) }} as {{ field_name }}_version,
        {%- endfor %}
        case
            when window_phones.phones_version is not null then window_phones.phones
            else coalesce(existing.phones, '{}'::text[])
        end as phones,
        case
            when window_phones.phones_version is not null then window_phones.has_invalid_phone
            else coalesce(existing.has_invalid_phone, false)
        end as has_invalid_phone,
        {%- set phones_change = crm7_change_version(
            'phones', 'window_phones.phones_version', 'existing.phones', 'window_phones.phones'
        ) %}
        {{ phones_change }} as phones_version,
        case
            when window_emails.emails_version is not null then window_emails.emails
            else coalesce(existing.emails, '{}'::text[])
        end as emails,
        {%- set emails_change = crm7_change_version(
            'emails', 'window_emails.emails_version', 'existing.emails', 'window_emails.emails'
        ) %}
        {{ emails_change }} as emails_version,
        window_fields.load_id,
        window_fields.record_no,
        window_fields.source_line,
        window_fields.loaded_at,
        key_links.first_load_id,
        window_fields.last_load_id,
        existing.record_hash as existing_record_hash,
        existing.content_hash as existing_content_hash,
        existing.changed_load_id as existing_changed_load_id
    from key_links
    inner join window_fields
        on key_links.contractor_key = window_fields.contractor_key
    left join window_addresses
        on key_links.contractor_key = window_addresses.contractor_key
    left join window_phones
        on key_links.contractor_key = window_phones.contractor_key
    left join window_emails
        on key_links.contractor_key = window_emails.contractor_key
    left join value_runs
        on key_links.contractor_key = value_runs.contractor_key
    left join existing
        on key_links.contractor_key = existing.contractor_key
    -- OFFSET 0 keeps PostgreSQL from inlining this step into the next ones, which would
    -- repeat each folded expression (and below, each md5) wherever it is referenced.
    offset 0  -- noqa: AM09

),

-- content_hash: the state a company or a decision reads; changed_load_id, the last load
-- that changed it, is what the downstream models pick their work by (a re-sent,
-- unchanged record moves last_load_id only).
content_hashed as (

    select
        *,
        md5(
            row(
                is_deleted, nip_raw, nip_version, linked_nip, linked_version,
                {{ folded_columns | join(', ') }},
                phones, has_invalid_phone, phones_version, emails, emails_version
            )::text
        ) as content_hash
    from folded
    offset 0  -- noqa: AM09

),

hashed as (

    select
        *,
        case
            when (existing_content_hash is distinct from content_hash) then last_load_id
            else existing_changed_load_id
        end as changed_load_id,
        md5(row(content_hash, source_updated_at, load_id, record_no, first_load_id, last_load_id)::text)
            as record_hash
    from content_hashed
    offset 0  -- noqa: AM09

),

final as (

    select
        contractor_key,
        source_system,
        source_record_id,
        source_updated_at,
        is_deleted,
        nip_raw,
        nip,
        nip_is_valid,
        nip_version,
        linked_nip,
        linked_load_id,
        linked_version,
        {%- for column in folded_columns %}
        {{ column }},
        {%- endfor %}
        phones[1] as main_phone,
        phones,
        has_invalid_phone,
        phones_version,
        emails[1] as main_email,
        emails,
        emails_version,
        load_id,
        record_no,
        source_line,
        loaded_at,
        first_load_id,
        last_load_id,
        changed_load_id,
        content_hash,
        record_hash,
        now() as deduplicated_at
    from hashed
    where
        existing_record_hash is null
        or existing_record_hash <> record_hash

)

select * from final
