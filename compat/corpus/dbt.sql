-- dbt-core 1.10 with dbt-postgres 1.9 against PostgreSQL 15, captured from the statement log while running
-- dbt compile, dbt docs generate, dbt show, dbt debug and dbt run-operation in a small project whose sources
-- are the fixture tables (profile schema "in.c-compat"). dbt qualifies relations with the database name
-- ("compat" on the capture server); that qualifier is dropped here since each target has its own database name.

-- @ list-relations unordered
-- captured: dbt compile
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "list_compat_in.c-compat"} */
select
      'compat' as database,
      tablename as name,
      schemaname as schema,
      'table' as type
    from pg_tables
    where schemaname ilike '{schema_name}'
    union all
    select
      'compat' as database,
      viewname as name,
      schemaname as schema,
      'view' as type
    from pg_views
    where schemaname ilike '{schema_name}'
    union all
    select
      'compat' as database,
      matviewname as name,
      schemaname as schema,
      'materialized_view' as type
    from pg_matviews
    where schemaname ilike '{schema_name}'

-- @ view-dependencies
-- captured: dbt compile
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "master"} */
select distinct
        dependent_namespace.nspname as dependent_schema,
        dependent_class.relname as dependent_name,
        referenced_namespace.nspname as referenced_schema,
        referenced_class.relname as referenced_name

    -- Query for views: views are entries in pg_class with an entry in pg_rewrite, but we avoid
    -- a seq scan on pg_rewrite by leveraging the fact there is an "internal" row in pg_depend for
    -- the view...
    from pg_class as dependent_class
    join pg_namespace as dependent_namespace on dependent_namespace.oid = dependent_class.relnamespace
    join pg_depend as dependent_depend on dependent_depend.refobjid = dependent_class.oid
        and dependent_depend.classid = 'pg_rewrite'::regclass
        and dependent_depend.refclassid = 'pg_class'::regclass
        and dependent_depend.deptype = 'i'

    -- ... and via pg_depend (that has a row per column, hence the need for "distinct" above, and
    -- making sure to exclude the internal row to avoid a view appearing to depend on itself)...
    join pg_depend as joining_depend on joining_depend.objid = dependent_depend.objid
        and joining_depend.classid = 'pg_rewrite'::regclass
        and joining_depend.refclassid = 'pg_class'::regclass
        and joining_depend.refobjid != dependent_depend.refobjid

    -- ... we can find the tables they query from in pg_class, but excluding system tables. Note we
    -- don't need need to exclude _dependent_ system tables, because they only query from other
    -- system tables, and so are automatically excluded by excluding _referenced_ system tables
    join pg_class as referenced_class on referenced_class.oid = joining_depend.refobjid
    join pg_namespace as referenced_namespace on referenced_namespace.oid = referenced_class.relnamespace
        and referenced_namespace.nspname != 'information_schema'
        and referenced_namespace.nspname not like 'pg\_%'

    order by
        dependent_schema, dependent_name, referenced_schema, referenced_name;

-- @ catalog shape
-- captured: dbt docs generate --no-compile
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "compat.information_schema"} */

    
    

    select
        'compat' as table_database,
        sch.nspname as table_schema,
        tbl.relname as table_name,
        case tbl.relkind
            when 'v' then 'VIEW'
            when 'm' then 'MATERIALIZED VIEW'
            else 'BASE TABLE'
        end as table_type,
        tbl_desc.description as table_comment,
        col.attname as column_name,
        col.attnum as column_index,
        pg_catalog.format_type(col.atttypid, col.atttypmod) as column_type,
        col_desc.description as column_comment,
        pg_get_userbyid(tbl.relowner) as table_owner

    from pg_catalog.pg_namespace sch
    join pg_catalog.pg_class tbl on tbl.relnamespace = sch.oid
    join pg_catalog.pg_attribute col on col.attrelid = tbl.oid
    left outer join pg_catalog.pg_description tbl_desc on (tbl_desc.objoid = tbl.oid and tbl_desc.objsubid = 0)
    left outer join pg_catalog.pg_description col_desc on (col_desc.objoid = tbl.oid and col_desc.objsubid = col.attnum)
    where (upper(sch.nspname) = upper('{schema_name}'))
      and not pg_is_other_temp_schema(sch.oid) -- not a temporary schema belonging to another session
      and tbl.relpersistence in ('p', 'u') -- [p]ermanent table or [u]nlogged table. Exclude [t]emporary tables
      and tbl.relkind in ('r', 'v', 'f', 'p', 'm') -- o[r]dinary table, [v]iew, [f]oreign table, [p]artitioned table, [m]aterialized view. Other values are [i]ndex, [S]equence, [c]omposite type, [t]OAST table
      and col.attnum > 0 -- negative numbers are used for system columns such as oid
      and not col.attisdropped -- column as not been dropped

    order by
        sch.nspname,
        tbl.relname,
        col.attnum

-- @ show-model-big-customers unordered
-- captured: dbt show --select big_customers / dbt show --inline / dbt debug
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "model.compat.big_customers"} */

  
  select c.id, c.name, sum(o.amount) as total from {schema}."customers" c join {schema}."orders" o on o.customer_id = c.id group by 1, 2
  
  limit 5

-- @ show-inline-orders
-- captured: dbt show --select big_customers / dbt show --inline / dbt debug
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */

  
  select * from {schema}."orders" order by id
  
  limit 3

-- @ debug-connection-test
-- captured: dbt show --select big_customers / dbt show --inline / dbt debug
select 1 as id

-- @ columns-in-relation-orders
-- captured: dbt run-operation (adapter.get_columns_in_relation, list_schemas, check_schema_exists, get_relation, get_show_grant_sql, get_show_indexes_sql)
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "macro_probe"} */

      select
          column_name,
          data_type,
          character_maximum_length,
          numeric_precision,
          numeric_scale

      from INFORMATION_SCHEMA.columns
      where table_name = 'orders'
        
        and table_schema = '{schema_name}'
        
      order by ordinal_position

-- @ columns-in-relation-big-orders
-- captured: dbt run-operation (adapter.get_columns_in_relation, list_schemas, check_schema_exists, get_relation, get_show_grant_sql, get_show_indexes_sql)
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "macro_probe"} */

      select
          column_name,
          data_type,
          character_maximum_length,
          numeric_precision,
          numeric_scale

      from INFORMATION_SCHEMA.columns
      where table_name = 'big_orders'
        
        and table_schema = '{schema_name}'
        
      order by ordinal_position

-- @ list-schemas columns
-- captured: dbt run-operation (adapter.get_columns_in_relation, list_schemas, check_schema_exists, get_relation, get_show_grant_sql, get_show_indexes_sql)
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "macro_probe"} */

    select distinct nspname from pg_namespace

-- @ check-schema-exists
-- captured: dbt run-operation (adapter.get_columns_in_relation, list_schemas, check_schema_exists, get_relation, get_show_grant_sql, get_show_indexes_sql)
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "macro_probe"} */

    select count(*) from pg_namespace where nspname = '{schema_name}'

-- @ show-grants
-- captured: dbt run-operation (adapter.get_columns_in_relation, list_schemas, check_schema_exists, get_relation, get_show_grant_sql, get_show_indexes_sql)
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "macro_probe"} */

    select grantee, privilege_type
  from INFORMATION_SCHEMA.role_table_grants
      where grantor = current_role
        and grantee != current_role
        and table_schema = '{schema_name}'
        and table_name = 'orders'

-- @ show-indexes
-- captured: dbt run-operation (adapter.get_columns_in_relation, list_schemas, check_schema_exists, get_relation, get_show_grant_sql, get_show_indexes_sql)
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "connection_name": "macro_probe"} */

    
    select
        i.relname                                   as name,
        m.amname                                    as method,
        ix.indisunique                              as "unique",
        array_to_string(array_agg(a.attname), ',')  as column_names
    from pg_index ix
    join pg_class i
        on i.oid = ix.indexrelid
    join pg_am m
        on m.oid=i.relam
    join pg_class t
        on t.oid = ix.indrelid
    join pg_namespace n
        on n.oid = t.relnamespace
    join pg_attribute a
        on a.attrelid = t.oid
        and a.attnum = ANY(ix.indkey)
    where t.relname = 'orders'
      and n.nspname = '{schema_name}'
      and t.relkind in ('r', 'm')
    group by 1, 2, 3
    order by 1, 2, 3

-- @ macro-dateadd-datediff
-- captured: dbt show --inline with the cross-database macros
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */

  
  select id, 

    created + ((interval '1 day') * (7))

 as due, 
        (('2024-01-01')::date - (created)::date)
     as age_days, 
        (
        (date_part('year', ('2024-01-01')::date) - date_part('year', (created)::date))
     * 12 + date_part('month', ('2024-01-01')::date) - date_part('month', (created)::date))
     as age_months from {schema}."customers" order by id
  
  limit 10

-- @ macro-listagg-any-value
-- captured: dbt show --inline with the cross-database macros
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */

  
  select customer_id, 
    string_agg(
        note,
        ', '
        order by id
        ) as notes, min(note) as any_note, count(*) as n from {schema}."orders" group by customer_id order by customer_id
  
  limit 10

-- @ macro-split-part-last-day
-- captured: dbt show --inline with the cross-database macros
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */

  
  select id, 

  
    

    split_part(
        email,
        '@',
        2
        )


  

 as domain, 

  
    

    split_part(
        email,
        '.',
          length(email)
          - length(
              replace(email,  '.', '')
          ) + 2 + -1
        )


  

 as tld, cast(
        

    

    date_trunc('month', created) + ((interval '1 month') * (1))

 + ((interval '1 day') * (-1))


        as date) as month_end, date_trunc('quarter', created) as q from {schema}."customers" order by id
  
  limit 10

-- @ macro-string-functions
-- captured: dbt show --inline with the cross-database macros
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */

  
  select id, 
    
    cast(quantity as TEXT)
 as q_text, 
  
    cast(quantity > 2 as TEXT)

 as big, note || '-' || id as label, md5(cast(note as TEXT)) as h, 

    length(
        note
    ) as len, 

    position(
        'i' in note
    ) as pos, 

    replace(
        note,
        'r',
        'R'
    )


 as rep, 

    right(
        note,
        2
    ) as r2 from {schema}."orders" order by id
  
  limit 10

-- @ macro-date-spine-periods
-- captured: dbt show --inline with the cross-database macros
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */


        select 
        ((cast('2024-01-08' as date))::date - (cast('2024-01-01' as date))::date)

-- @ macro-date-spine unordered
-- captured: dbt show --inline with the cross-database macros
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */

  
  


    


    with rawdata as (

        

    

    with p as (
        select 0 as generated_number union all select 1
    ), unioned as (

    select

    
    p0.generated_number * power(2, 0)
     + 
    
    p1.generated_number * power(2, 1)
     + 
    
    p2.generated_number * power(2, 2)
    
    
    + 1
    as generated_number

    from

    
    p as p0
     cross join 
    
    p as p1
     cross join 
    
    p as p2
    
    

    )

    select *
    from unioned
    where generated_number <= 7
    order by generated_number



    ),

    all_periods as (

        select (
            

    cast('2024-01-01' as date) + ((interval '1 day') * (row_number() over (order by 1) - 1))


        ) as date_day
        from rawdata

    ),

    filtered as (

        select *
        from all_periods
        where date_day <= cast('2024-01-08' as date)

    )

    select * from filtered


  
  limit 10

-- @ macro-type-casts
-- captured: dbt show --inline with the type and cast macros
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */

  
  select cast(amount as numeric(28,6)) as a, cast(weight as float) as w, cast(ordered_at as timestamp) as t, cast(id as bigint) as b, cast(quantity as integer) as q, cast(note as TEXT) as s, 'it''s' as e from {schema}."orders" order by id
  
  limit 10

-- @ macro-current-timestamp shape
-- captured: dbt show --inline with the type and cast macros
-- database qualifier "compat" dropped from the relation names
/* {"app": "dbt", "dbt_version": "1.10.23", "profile_name": "compat", "target_name": "pg", "node_id": "sql_operation.compat.inline_query"} */

  
  select now() as now_ts, 
    cast('2024-01-02' as date)
 as d, 'x' as lit, bool_or(active) as any_active from {schema}."customers"
  
  limit 10
