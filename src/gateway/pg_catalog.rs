//! The PostgreSQL catalog relations clients query (`pg_catalog.*`, `information_schema.*`), by
//! name and shape. Their rows are built per query from what the session may see; DuckDB's own
//! catalog views are never reachable (they would show every attached table).

use crate::relation::ColumnType as T;

macro_rules! relations {
    ($($variant:ident => ($schema:literal, $name:literal, [$(($col:literal, $ty:ident)),* $(,)?])),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CatalogRelation { $($variant),* }

        impl CatalogRelation {
            pub const ALL: &'static [CatalogRelation] = &[$(CatalogRelation::$variant),*];

            pub fn schema(self) -> &'static str {
                match self { $(CatalogRelation::$variant => $schema),* }
            }

            pub fn name(self) -> &'static str {
                match self { $(CatalogRelation::$variant => $name),* }
            }

            pub fn columns(self) -> &'static [(&'static str, T)] {
                match self { $(CatalogRelation::$variant => &[$(($col, T::$ty)),*]),* }
            }
        }
    };
}

relations! {
    Namespace => ("pg_catalog", "pg_namespace", [("oid", Int64), ("nspname", Text), ("nspowner", Int64), ("nspacl", TextList)]),
    Class => ("pg_catalog", "pg_class", [
        ("oid", Int64), ("relname", Text), ("relnamespace", Int64), ("reltype", Int64), ("reloftype", Int64),
        ("relowner", Int64), ("relam", Int64), ("relfilenode", Int64), ("reltablespace", Int64), ("relpages", Int32),
        ("reltuples", Float64), ("relallvisible", Int32), ("reltoastrelid", Int64), ("relhasindex", Bool),
        ("relisshared", Bool), ("relpersistence", Text), ("relkind", Text), ("relnatts", Int16), ("relchecks", Int16),
        ("relhasrules", Bool), ("relhastriggers", Bool), ("relhassubclass", Bool), ("relrowsecurity", Bool),
        ("relforcerowsecurity", Bool), ("relispopulated", Bool), ("relreplident", Text), ("relispartition", Bool),
        ("relrewrite", Int64), ("relfrozenxid", Int64), ("relminmxid", Int64), ("relacl", TextList),
        ("reloptions", TextList), ("relpartbound", Text),
    ]),
    Attribute => ("pg_catalog", "pg_attribute", [
        ("attrelid", Int64), ("attname", Text), ("atttypid", Int64), ("attstattarget", Int32), ("attlen", Int16),
        ("attnum", Int16), ("attndims", Int32), ("attcacheoff", Int32), ("atttypmod", Int32), ("attbyval", Bool),
        ("attalign", Text), ("attstorage", Text), ("attcompression", Text), ("attnotnull", Bool), ("atthasdef", Bool),
        ("atthasmissing", Bool), ("attidentity", Text), ("attgenerated", Text), ("attisdropped", Bool),
        ("attislocal", Bool), ("attinhcount", Int32), ("attcollation", Int64), ("attacl", TextList),
        ("attoptions", TextList), ("attfdwoptions", TextList), ("attmissingval", TextList),
    ]),
    Type => ("pg_catalog", "pg_type", [
        ("oid", Int64), ("typname", Text), ("typnamespace", Int64), ("typowner", Int64), ("typlen", Int16),
        ("typbyval", Bool), ("typtype", Text), ("typcategory", Text), ("typispreferred", Bool), ("typisdefined", Bool),
        ("typdelim", Text), ("typrelid", Int64), ("typsubscript", Text), ("typelem", Int64), ("typarray", Int64),
        ("typinput", Text), ("typoutput", Text), ("typreceive", Text), ("typsend", Text), ("typmodin", Text),
        ("typmodout", Text), ("typanalyze", Text), ("typalign", Text), ("typstorage", Text), ("typnotnull", Bool),
        ("typbasetype", Int64), ("typtypmod", Int32), ("typndims", Int32), ("typcollation", Int64),
        ("typdefaultbin", Text), ("typdefault", Text), ("typacl", TextList),
    ]),
    Index => ("pg_catalog", "pg_index", [
        ("indexrelid", Int64), ("indrelid", Int64), ("indnatts", Int16), ("indnkeyatts", Int16), ("indisunique", Bool),
        ("indnullsnotdistinct", Bool), ("indisprimary", Bool), ("indisexclusion", Bool), ("indimmediate", Bool),
        ("indisclustered", Bool), ("indisvalid", Bool), ("indcheckxmin", Bool), ("indisready", Bool),
        ("indislive", Bool), ("indisreplident", Bool), ("indkey", Int16List), ("indcollation", Int64List),
        ("indclass", Int64List), ("indoption", Int16List), ("indexprs", Text), ("indpred", Text),
    ]),
    Constraint => ("pg_catalog", "pg_constraint", [
        ("oid", Int64), ("conname", Text), ("connamespace", Int64), ("contype", Text), ("condeferrable", Bool),
        ("condeferred", Bool), ("convalidated", Bool), ("conrelid", Int64), ("contypid", Int64), ("conindid", Int64),
        ("conparentid", Int64), ("confrelid", Int64), ("confupdtype", Text), ("confdeltype", Text),
        ("confmatchtype", Text), ("conislocal", Bool), ("coninhcount", Int32), ("connoinherit", Bool),
        ("conkey", Int16List), ("confkey", Int16List), ("conpfeqop", Int64List), ("conppeqop", Int64List),
        ("conffeqop", Int64List), ("confdelsetcols", Int16List), ("conexclop", Int64List), ("conbin", Text),
    ]),
    Attrdef => ("pg_catalog", "pg_attrdef", [("oid", Int64), ("adrelid", Int64), ("adnum", Int16), ("adbin", Text)]),
    Description => ("pg_catalog", "pg_description", [("objoid", Int64), ("classoid", Int64), ("objsubid", Int32), ("description", Text)]),
    Am => ("pg_catalog", "pg_am", [("oid", Int64), ("amname", Text), ("amhandler", Text), ("amtype", Text)]),
    Language => ("pg_catalog", "pg_language", [
        ("oid", Int64), ("lanname", Text), ("lanowner", Int64), ("lanispl", Bool), ("lanpltrusted", Bool),
        ("lanplcallfoid", Int64), ("laninline", Int64), ("lanvalidator", Int64), ("lanacl", TextList),
    ]),
    Aggregate => ("pg_catalog", "pg_aggregate", [
        ("aggfnoid", Int64), ("aggkind", Text), ("aggnumdirectargs", Int16), ("aggtransfn", Text),
        ("aggfinalfn", Text), ("aggcombinefn", Text), ("aggserialfn", Text), ("aggdeserialfn", Text),
        ("aggmtransfn", Text), ("aggminvtransfn", Text), ("aggmfinalfn", Text), ("aggfinalextra", Bool),
        ("aggmfinalextra", Bool), ("aggfinalmodify", Text), ("aggmfinalmodify", Text), ("aggsortop", Int64),
        ("aggtranstype", Int64), ("aggtransspace", Int32), ("aggmtranstype", Int64), ("aggmtransspace", Int32),
        ("agginitval", Text), ("aggminitval", Text),
    ]),
    Collation => ("pg_catalog", "pg_collation", [
        ("oid", Int64), ("collname", Text), ("collnamespace", Int64), ("collowner", Int64), ("collprovider", Text),
        ("collisdeterministic", Bool), ("collencoding", Int32), ("collcollate", Text), ("collctype", Text),
        ("colliculocale", Text), ("collversion", Text),
    ]),
    Inherits => ("pg_catalog", "pg_inherits", [("inhrelid", Int64), ("inhparent", Int64), ("inhseqno", Int32), ("inhdetachpending", Bool)]),
    Database => ("pg_catalog", "pg_database", [
        ("oid", Int64), ("datname", Text), ("datdba", Int64), ("encoding", Int32), ("datlocprovider", Text),
        ("datistemplate", Bool), ("datallowconn", Bool), ("datconnlimit", Int32), ("datfrozenxid", Int64),
        ("datminmxid", Int64), ("dattablespace", Int64), ("datcollate", Text), ("datctype", Text),
        ("daticulocale", Text), ("datcollversion", Text), ("datacl", TextList),
    ]),
    Roles => ("pg_catalog", "pg_roles", [
        ("rolname", Text), ("rolsuper", Bool), ("rolinherit", Bool), ("rolcreaterole", Bool),
        ("rolcreatedb", Bool), ("rolcanlogin", Bool), ("rolreplication", Bool), ("rolconnlimit", Int32),
        ("rolpassword", Text), ("rolvaliduntil", Timestamp), ("rolbypassrls", Bool), ("rolconfig", TextList),
        ("oid", Int64),
    ]),
    User => ("pg_catalog", "pg_user", [("usename", Text), ("usesysid", Int64), ("usecreatedb", Bool), ("usesuper", Bool)]),
    AuthMembers => ("pg_catalog", "pg_auth_members", [("roleid", Int64), ("member", Int64), ("grantor", Int64), ("admin_option", Bool)]),
    Proc => ("pg_catalog", "pg_proc", [
        ("oid", Int64), ("proname", Text), ("pronamespace", Int64), ("proowner", Int64), ("prolang", Int64),
        ("procost", Float64), ("prorows", Float64), ("provariadic", Int64), ("prosupport", Text), ("prokind", Text),
        ("prosecdef", Bool), ("proleakproof", Bool), ("proisstrict", Bool), ("proretset", Bool),
        ("provolatile", Text), ("proparallel", Text), ("pronargs", Int16), ("pronargdefaults", Int16),
        ("prorettype", Int64), ("proargtypes", Int64List), ("proallargtypes", Int64List), ("proargmodes", TextList),
        ("proargnames", TextList), ("proargdefaults", Text), ("protrftypes", Int64List), ("prosrc", Text),
        ("probin", Text), ("prosqlbody", Text), ("proconfig", TextList), ("proacl", TextList),
    ]),
    Policy => ("pg_catalog", "pg_policy", [
        ("oid", Int64), ("polname", Text), ("polrelid", Int64), ("polcmd", Text), ("polpermissive", Bool),
        ("polroles", Int64List), ("polqual", Text), ("polwithcheck", Text),
    ]),
    StatisticExt => ("pg_catalog", "pg_statistic_ext", [
        ("oid", Int64), ("stxrelid", Int64), ("stxname", Text), ("stxnamespace", Int64), ("stxowner", Int64),
        ("stxstattarget", Int32), ("stxkeys", Int16List), ("stxkind", TextList),
    ]),
    Publication => ("pg_catalog", "pg_publication", [("oid", Int64), ("pubname", Text), ("pubowner", Int64), ("puballtables", Bool)]),
    PublicationNamespace => ("pg_catalog", "pg_publication_namespace", [("oid", Int64), ("pnpubid", Int64), ("pnnspid", Int64)]),
    PublicationRel => ("pg_catalog", "pg_publication_rel", [("oid", Int64), ("prpubid", Int64), ("prrelid", Int64), ("prqual", Text), ("prattrs", Int16List)]),
    Settings => ("pg_catalog", "pg_settings", [
        ("name", Text), ("setting", Text), ("unit", Text), ("category", Text), ("short_desc", Text),
        ("extra_desc", Text), ("context", Text), ("vartype", Text), ("source", Text), ("min_val", Text),
        ("max_val", Text), ("enumvals", TextList), ("boot_val", Text), ("reset_val", Text), ("sourcefile", Text),
        ("sourceline", Int32), ("pending_restart", Bool),
    ]),
    Cursors => ("pg_catalog", "pg_cursors", [("name", Text), ("statement", Text), ("is_holdable", Bool), ("is_binary", Bool), ("is_scrollable", Bool), ("creation_time", Timestamp)]),
    StatUserTables => ("pg_catalog", "pg_stat_user_tables", [
        ("relid", Int64), ("schemaname", Text), ("relname", Text), ("seq_scan", Int64), ("seq_tup_read", Int64),
        ("idx_scan", Int64), ("idx_tup_fetch", Int64), ("n_tup_ins", Int64), ("n_tup_upd", Int64),
        ("n_tup_del", Int64), ("n_tup_hot_upd", Int64), ("n_live_tup", Int64), ("n_dead_tup", Int64),
        ("n_mod_since_analyze", Int64), ("n_ins_since_vacuum", Int64), ("last_vacuum", Timestamp),
        ("last_autovacuum", Timestamp), ("last_analyze", Timestamp), ("last_autoanalyze", Timestamp),
        ("vacuum_count", Int64), ("autovacuum_count", Int64), ("analyze_count", Int64), ("autoanalyze_count", Int64),
    ]),
    Depend => ("pg_catalog", "pg_depend", [("classid", Int64), ("objid", Int64), ("objsubid", Int32), ("refclassid", Int64), ("refobjid", Int64), ("refobjsubid", Int32), ("deptype", Text)]),
    Sequence => ("pg_catalog", "pg_sequence", [("seqrelid", Int64), ("seqtypid", Int64), ("seqstart", Int64), ("seqincrement", Int64), ("seqmax", Int64), ("seqmin", Int64), ("seqcache", Int64), ("seqcycle", Bool)]),
    Opclass => ("pg_catalog", "pg_opclass", [("oid", Int64), ("opcmethod", Int64), ("opcname", Text), ("opcnamespace", Int64), ("opcdefault", Bool), ("opcintype", Int64)]),
    Tablespace => ("pg_catalog", "pg_tablespace", [("oid", Int64), ("spcname", Text), ("spcowner", Int64), ("spcacl", TextList), ("spcoptions", TextList)]),
    Extension => ("pg_catalog", "pg_extension", [
        ("oid", Int64), ("extname", Text), ("extowner", Int64), ("extnamespace", Int64), ("extrelocatable", Bool),
        ("extversion", Text), ("extconfig", Int64List), ("extcondition", TextList),
    ]),
    Opfamily => ("pg_catalog", "pg_opfamily", [("oid", Int64), ("opfmethod", Int64), ("opfname", Text), ("opfnamespace", Int64), ("opfowner", Int64)]),
    Trigger => ("pg_catalog", "pg_trigger", [("oid", Int64), ("tgrelid", Int64), ("tgname", Text), ("tgenabled", Text), ("tgisinternal", Bool)]),
    Rewrite => ("pg_catalog", "pg_rewrite", [("oid", Int64), ("rulename", Text), ("ev_class", Int64), ("ev_type", Text), ("ev_enabled", Text), ("is_instead", Bool)]),
    Enum => ("pg_catalog", "pg_enum", [("oid", Int64), ("enumtypid", Int64), ("enumsortorder", Float64), ("enumlabel", Text)]),
    Range => ("pg_catalog", "pg_range", [("rngtypid", Int64), ("rngsubtype", Int64)]),
    Tables => ("pg_catalog", "pg_tables", [("schemaname", Text), ("tablename", Text), ("tableowner", Text), ("tablespace", Text), ("hasindexes", Bool), ("hasrules", Bool), ("hastriggers", Bool), ("rowsecurity", Bool)]),
    Views => ("pg_catalog", "pg_views", [("schemaname", Text), ("viewname", Text), ("viewowner", Text), ("definition", Text)]),
    Matviews => ("pg_catalog", "pg_matviews", [("schemaname", Text), ("matviewname", Text), ("matviewowner", Text), ("definition", Text)]),
    Indexes => ("pg_catalog", "pg_indexes", [("schemaname", Text), ("tablename", Text), ("indexname", Text), ("tablespace", Text), ("indexdef", Text)]),
    IndexDefs => ("pg_catalog", "duckstore_index_defs", [("oid", Int64), ("colnum", Int32), ("def", Text)]),
    ConstraintDefs => ("pg_catalog", "duckstore_constraint_defs", [("oid", Int64), ("def", Text), ("pretty", Text)]),
    Schemata => ("information_schema", "schemata", [("catalog_name", Text), ("schema_name", Text), ("schema_owner", Text)]),
    IsTables => ("information_schema", "tables", [
        ("table_catalog", Text), ("table_schema", Text), ("table_name", Text), ("table_type", Text),
        ("self_referencing_column_name", Text), ("reference_generation", Text), ("user_defined_type_catalog", Text),
        ("user_defined_type_schema", Text), ("user_defined_type_name", Text), ("is_insertable_into", Text),
        ("is_typed", Text), ("commit_action", Text),
    ]),
    IsViews => ("information_schema", "views", [
        ("table_catalog", Text), ("table_schema", Text), ("table_name", Text), ("view_definition", Text),
        ("check_option", Text), ("is_updatable", Text), ("is_insertable_into", Text), ("is_trigger_updatable", Text),
        ("is_trigger_deletable", Text), ("is_trigger_insertable_into", Text),
    ]),
    IsColumns => ("information_schema", "columns", [
        ("table_catalog", Text), ("table_schema", Text), ("table_name", Text), ("column_name", Text),
        ("ordinal_position", Int32), ("column_default", Text), ("is_nullable", Text), ("data_type", Text),
        ("character_maximum_length", Int32), ("character_octet_length", Int32), ("numeric_precision", Int32),
        ("numeric_precision_radix", Int32), ("numeric_scale", Int32), ("datetime_precision", Int32),
        ("interval_type", Text), ("interval_precision", Int32), ("character_set_catalog", Text),
        ("character_set_schema", Text), ("character_set_name", Text), ("collation_catalog", Text),
        ("collation_schema", Text), ("collation_name", Text), ("domain_catalog", Text), ("domain_schema", Text),
        ("domain_name", Text), ("udt_catalog", Text), ("udt_schema", Text), ("udt_name", Text), ("scope_catalog", Text),
        ("scope_schema", Text), ("scope_name", Text), ("maximum_cardinality", Int32), ("dtd_identifier", Text),
        ("is_self_referencing", Text), ("is_identity", Text), ("identity_generation", Text), ("identity_start", Text),
        ("identity_increment", Text), ("identity_maximum", Text), ("identity_minimum", Text), ("identity_cycle", Text),
        ("is_generated", Text), ("generation_expression", Text), ("is_updatable", Text),
    ]),
    IsTableConstraints => ("information_schema", "table_constraints", [
        ("constraint_catalog", Text), ("constraint_schema", Text), ("constraint_name", Text), ("table_catalog", Text),
        ("table_schema", Text), ("table_name", Text), ("constraint_type", Text), ("is_deferrable", Text),
        ("initially_deferred", Text), ("enforced", Text), ("nulls_distinct", Text),
    ]),
    IsKeyColumnUsage => ("information_schema", "key_column_usage", [
        ("constraint_catalog", Text), ("constraint_schema", Text), ("constraint_name", Text), ("table_catalog", Text),
        ("table_schema", Text), ("table_name", Text), ("column_name", Text), ("ordinal_position", Int32),
        ("position_in_unique_constraint", Int32),
    ]),
    // relations clients query that are empty here, or PostgreSQL's own (pg_conversion)
    Sequences => ("pg_catalog", "pg_sequences", [("schemaname", Text), ("sequencename", Text), ("sequenceowner", Text), ("data_type", Int64), ("start_value", Int64), ("min_value", Int64), ("max_value", Int64), ("increment_by", Int64), ("cycle", Bool), ("cache_size", Int64), ("last_value", Int64)]),
    EventTrigger => ("pg_catalog", "pg_event_trigger", [("oid", Int64), ("evtname", Text), ("evtevent", Text), ("evtowner", Int64), ("evtfoid", Int64), ("evtenabled", Text), ("evttags", TextList)]),
    DefaultAcl => ("pg_catalog", "pg_default_acl", [("oid", Int64), ("defaclrole", Int64), ("defaclnamespace", Int64), ("defaclobjtype", Text), ("defaclacl", TextList)]),
    AvailableExtensions => ("pg_catalog", "pg_available_extensions", [("name", Text), ("default_version", Text), ("installed_version", Text), ("comment", Text)]),
    Shdescription => ("pg_catalog", "pg_shdescription", [("objoid", Int64), ("classoid", Int64), ("description", Text)]),
    IsRoutines => ("information_schema", "routines", [("specific_catalog", Text), ("specific_schema", Text), ("specific_name", Text), ("routine_catalog", Text), ("routine_schema", Text), ("routine_name", Text), ("routine_type", Text), ("module_catalog", Text), ("module_schema", Text), ("module_name", Text), ("udt_catalog", Text), ("udt_schema", Text), ("udt_name", Text), ("data_type", Text), ("character_maximum_length", Int32), ("character_octet_length", Int32), ("character_set_catalog", Text), ("character_set_schema", Text), ("character_set_name", Text), ("collation_catalog", Text), ("collation_schema", Text), ("collation_name", Text), ("numeric_precision", Int32), ("numeric_precision_radix", Int32), ("numeric_scale", Int32), ("datetime_precision", Int32), ("interval_type", Text), ("interval_precision", Int32), ("type_udt_catalog", Text), ("type_udt_schema", Text), ("type_udt_name", Text), ("scope_catalog", Text), ("scope_schema", Text), ("scope_name", Text), ("maximum_cardinality", Int32), ("dtd_identifier", Text), ("routine_body", Text), ("routine_definition", Text), ("external_name", Text), ("external_language", Text), ("parameter_style", Text), ("is_deterministic", Text), ("sql_data_access", Text), ("is_null_call", Text), ("sql_path", Text), ("schema_level_routine", Text), ("max_dynamic_result_sets", Int32), ("is_user_defined_cast", Text), ("is_implicitly_invocable", Text), ("security_type", Text), ("to_sql_specific_catalog", Text), ("to_sql_specific_schema", Text), ("to_sql_specific_name", Text), ("as_locator", Text), ("created", Timestamp), ("last_altered", Timestamp), ("new_savepoint_level", Text), ("is_udt_dependent", Text), ("result_cast_from_data_type", Text), ("result_cast_as_locator", Text), ("result_cast_char_max_length", Int32), ("result_cast_char_octet_length", Int32), ("result_cast_char_set_catalog", Text), ("result_cast_char_set_schema", Text), ("result_cast_char_set_name", Text), ("result_cast_collation_catalog", Text), ("result_cast_collation_schema", Text), ("result_cast_collation_name", Text), ("result_cast_numeric_precision", Int32), ("result_cast_numeric_precision_radix", Int32), ("result_cast_numeric_scale", Int32), ("result_cast_datetime_precision", Int32), ("result_cast_interval_type", Text), ("result_cast_interval_precision", Int32), ("result_cast_type_udt_catalog", Text), ("result_cast_type_udt_schema", Text), ("result_cast_type_udt_name", Text), ("result_cast_scope_catalog", Text), ("result_cast_scope_schema", Text), ("result_cast_scope_name", Text), ("result_cast_maximum_cardinality", Int32), ("result_cast_dtd_identifier", Text)]),
    IsReferentialConstraints => ("information_schema", "referential_constraints", [("constraint_catalog", Text), ("constraint_schema", Text), ("constraint_name", Text), ("unique_constraint_catalog", Text), ("unique_constraint_schema", Text), ("unique_constraint_name", Text), ("match_option", Text), ("update_rule", Text), ("delete_rule", Text)]),
    IsTablePrivileges => ("information_schema", "table_privileges", [("grantor", Text), ("grantee", Text), ("table_catalog", Text), ("table_schema", Text), ("table_name", Text), ("privilege_type", Text), ("is_grantable", Text), ("with_hierarchy", Text)]),
    IsRoleTableGrants => ("information_schema", "role_table_grants", [("grantor", Text), ("grantee", Text), ("table_catalog", Text), ("table_schema", Text), ("table_name", Text), ("privilege_type", Text), ("is_grantable", Text), ("with_hierarchy", Text)]),
    IsViewTableUsage => ("information_schema", "view_table_usage", [("view_catalog", Text), ("view_schema", Text), ("view_name", Text), ("table_catalog", Text), ("table_schema", Text), ("table_name", Text)]),
    Conversion => ("pg_catalog", "pg_conversion", [("oid", Int64), ("conname", Text), ("connamespace", Int64), ("conowner", Int64), ("conforencoding", Int32), ("contoencoding", Int32), ("conproc", Text), ("condefault", Bool)]),
    ViewDefs => ("pg_catalog", "duckstore_view_defs", [("oid", Int64), ("def", Text), ("pretty", Text)]),
    // the rows of `pg_get_keywords()`, a table function in FROM
    Keywords => ("pg_catalog", "pg_get_keywords", [("word", Text), ("catcode", Text), ("barelabel", Bool), ("catdesc", Text), ("baredesc", Text)]),
}

/// How PostgreSQL 15 describes one of its catalog columns in RowDescription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgColumn {
    pub relation_oid: u32,
    pub attnum: i16,
    /// The column's type (a domain's base type), and its typmod.
    pub type_oid: u32,
    pub typmod: i32,
}

/// `pg_columns.tsv`, generated from PostgreSQL 15 by `scripts/pg-catalog-columns.sh`.
static PG_COLUMNS: std::sync::LazyLock<std::collections::HashMap<(&str, &str, &str), PgColumn>> =
    std::sync::LazyLock::new(|| {
        include_str!("pg_columns.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                let [schema, relation, oid, column, attnum, type_oid, typmod] = f.as_slice() else { return None };
                let described = PgColumn {
                    relation_oid: oid.parse().ok()?,
                    attnum: attnum.parse().ok()?,
                    type_oid: type_oid.parse().ok()?,
                    typmod: typmod.parse().ok()?,
                };
                Some(((*schema, *relation, *column), described))
            })
            .collect()
    });

/// PostgreSQL 15's key words (`pg_get_keywords()`): word, category code, whether it can be a
/// bare column label, and the two descriptions; from `pg_keywords.tsv`, generated from
/// PostgreSQL 15.
pub fn keywords() -> impl Iterator<Item = (&'static str, &'static str, bool, &'static str, &'static str)> {
    include_str!("pg_keywords.tsv").lines().filter(|l| !l.starts_with('#')).filter_map(|line| {
        let f: Vec<&str> = line.split('\t').collect();
        let [word, catcode, barelabel, catdesc, baredesc] = f.as_slice() else { return None };
        Some((*word, *catcode, *barelabel == "t", *catdesc, *baredesc))
    })
}

impl CatalogRelation {
    /// PostgreSQL's description of the relation's column `column`.
    pub fn pg_column(self, column: &str) -> Option<PgColumn> {
        PG_COLUMNS.get(&(self.schema(), self.name(), column)).copied()
    }

    /// The relation `schema.name` names (`schema` defaults to pg_catalog, as PostgreSQL
    /// searches it first).
    pub fn find(schema: Option<&str>, name: &str) -> Option<CatalogRelation> {
        let schema = schema.unwrap_or("pg_catalog");
        CatalogRelation::ALL.iter().copied().find(|r| r.schema() == schema && r.name() == name)
    }
}
