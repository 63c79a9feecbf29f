{#- On Spark, the sources are Parquet folders: the raw tables Spark's ingestion wrote, the others
    written by the pipeline before each invocation (pipelines/transforms/spark.py), listed in
    ACCOUNTS_SPARK_SOURCES as `schema.table=folder`: the run-start hook registers each as an
    external table (over the files of this run) and drops the others, so a table the warehouse does
    not hold yet is missing on Spark too. DuckDB reads its own tables: nothing to do. -#}
{% macro register_sources() -%}
    {{ return(adapter.dispatch('register_sources')()) }}
{%- endmacro %}

{% macro default__register_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_sources() -%}
    {%- if execute -%}
    {%- set folders = {} -%}
    {%- for entry in env_var('ACCOUNTS_SPARK_SOURCES', '').split(',') if '=' in entry -%}
        {%- set name, folder = entry.split('=', 1) -%}
        {%- do folders.update({name: folder}) -%}
    {%- endfor -%}
    {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- set name = source.schema ~ '.' ~ source.identifier -%}
        {%- do run_query('create database if not exists ' ~ source.schema) -%}
        {%- do run_query('drop table if exists ' ~ name) -%}
        {%- if name in folders -%}
            {%- do run_query('create table ' ~ name ~ " using parquet location '" ~ folders[name] ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- post-hook of every mart: on Spark, an empty Parquet file with the table's columns in
    `<spark dir>/schemas/<schema>/<table>`, from which the pipeline reads back a mart without rows
    (a partitioned table with no partition has no file to read its columns from). -#}
{% macro mart_schema_marker() -%}
    {{ return(adapter.dispatch('mart_schema_marker')()) }}
{%- endmacro %}

{% macro default__mart_schema_marker() -%}{%- endmacro %}

{% macro spark__mart_schema_marker() -%}
    insert overwrite directory '{{ env_var("ACCOUNTS_SPARK_DIR") }}/schemas/{{ this.schema }}/{{ this.identifier }}'
    using parquet
    select * from {{ this }} where false
{%- endmacro %}
