{#-
    The one counterparty resolution of the CRM: turns what a record says about a company
    (a source system, the contractor's record id in it, a NIP) into a crm.companies
    company_id. A SELECT over the CTE `rows` for a CTE step of its own:
    `resolved as ({{ crm7_resolve_company('rows', ...) }})`.

    1. By contractor id: crm.company_links of the same source system and source record
       id (links: the company_links CTE of the model);
    2. else by NIP: crm.companies with that NIP (companies: the companies CTE).

    nip_differs_from_link says what a link found with a NIP other than the given one
    means (a record names one company by id and another by NIP):
    - 'conflict' (calendar events, company financials): no company, is_company_conflict
      true, for review (company_conflict);
    - 'link_wins' (invoices, warehouse documents): the link's company; is_company_conflict
      is always false.
    The rules differ on purpose and stay so: the calendar and financials tests name such
    records company_conflict, while invoices and warehouse documents have always taken
    the link.

    Adds to the columns of `rows`: has_company_reference (an id or a NIP is given),
    link_company_id, link_company_nip, nip_company_id, is_company_conflict, company_id and
    company_matched_by ('contractor_id_and_nip' when both name the company,
    'contractor_id', 'nip', NULL without a company). `rows` must have none of these.
    Incremental models pass only the rows they rewrite: the joins read the links and
    companies of those rows by their unique keys.
-#}
{% macro crm7_resolve_company(
    rows,
    source_system_column,
    source_record_id_column,
    nip_column,
    nip_differs_from_link='conflict',
    links='links',
    companies='companies'
) -%}
    {%- if nip_differs_from_link not in ['conflict', 'link_wins'] -%}
        {{ exceptions.raise_compiler_error(
            "crm7_resolve_company: nip_differs_from_link is 'conflict' or 'link_wins', not '"
            ~ nip_differs_from_link ~ "'") }}
    {%- endif -%}
    select
        {{ rows }}.*,
        linked_companies.company_id as link_company_id,
        linked_companies.nip as link_company_nip,
        nip_companies.company_id as nip_company_id,
        (
            {{ rows }}.{{ source_record_id_column }} is not null
            or {{ rows }}.{{ nip_column }} is not null
        ) as has_company_reference,
        {%- if nip_differs_from_link == 'conflict' %}
        -- A link always has a NIP: the comparison is NULL only without a link or a NIP.
        coalesce({{ rows }}.{{ nip_column }} <> linked_companies.nip, false) as is_company_conflict,
        case
            when {{ rows }}.{{ nip_column }} <> linked_companies.nip then null
            else coalesce(linked_companies.company_id, nip_companies.company_id)
        end as company_id,
        case
            when {{ rows }}.{{ nip_column }} <> linked_companies.nip then null
        {%- else %}
        false as is_company_conflict,
        coalesce(linked_companies.company_id, nip_companies.company_id) as company_id,
        case
        {%- endif %}
            when linked_companies.company_id = nip_companies.company_id then 'contractor_id_and_nip'
            when linked_companies.company_id is not null then 'contractor_id'
            when nip_companies.company_id is not null then 'nip'
        end as company_matched_by
    from {{ rows }}
    left join {{ links }} as linked_companies
        on
            {{ rows }}.{{ source_system_column }} = linked_companies.source_system
            and {{ rows }}.{{ source_record_id_column }} = linked_companies.source_record_id
    left join {{ companies }} as nip_companies
        on {{ rows }}.{{ nip_column }} = nip_companies.nip
{%- endmacro %}
