{#-
    Local wall-clock times in an IANA time zone, read as RFC 5545 reads them.

    local_time_instant(local, zone): the instant (timestamptz) of a local timestamp:
    - a time that does not exist (in a spring-forward gap, e.g. 02:30 on the last Sunday
      of March in Europe/Warsaw) uses the offset before the gap: 02:30 CET = 03:30 CEST
      (PostgreSQL's own reading of `at time zone`);
    - a time that occurs twice (in a fall-back overlap, e.g. 02:30 on the last Sunday of
      October) is its first occurrence, 02:30 CEST (PostgreSQL alone would take the
      second, 02:30 CET).
    local_time_is_nonexistent / local_time_is_ambiguous flag those two cases.

    The earlier candidate is the local time read with the offset the zone had one day
    before; it is the first occurrence when it maps back to the same local time.
-#}
{% macro _local_time_earlier_instant(local, zone) -%}
    (
        ({{ local }})
        - (
            ((({{ local }}) at time zone ({{ zone }})) - interval '1 day') at time zone ({{ zone }})
            - ((({{ local }}) at time zone ({{ zone }})) - interval '1 day') at time zone 'UTC'
        )
    ) at time zone 'UTC'
{%- endmacro %}

{% macro local_time_is_ambiguous(local, zone) -%}
    (
        {{ _local_time_earlier_instant(local, zone) }} < (({{ local }}) at time zone ({{ zone }}))
        and ({{ _local_time_earlier_instant(local, zone) }} at time zone ({{ zone }})) = ({{ local }})
    )
{%- endmacro %}

{% macro local_time_is_nonexistent(local, zone) -%}
    (((({{ local }}) at time zone ({{ zone }})) at time zone ({{ zone }})) <> ({{ local }}))
{%- endmacro %}

{% macro local_time_instant(local, zone) -%}
    case
        when {{ local_time_is_ambiguous(local, zone) }}
            then {{ _local_time_earlier_instant(local, zone) }}
        else ({{ local }}) at time zone ({{ zone }})
    end
{%- endmacro %}
