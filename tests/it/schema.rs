//! Schema operations as users run them: ALTER TABLE in its forms, primary keys, delete_rows,
//! profiles; every refusal leaves data and schema as they were (read back to prove it).

use tokio_postgres::Client;

use crate::harness::{TestServer, message, sqlstate};

async fn text_rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

/// (name, type, nullable, default, in primary key) of each column, in order.
async fn schema_of(client: &Client, table: &str) -> Vec<Vec<Option<String>>> {
    text_rows(
        client,
        &format!(
            "SELECT name, type, nullable, \"default\", primary_key FROM duckstore.columns WHERE table_name = '{table}' ORDER BY position"
        ),
    )
    .await
}

async fn setup(server: &TestServer) -> (Client, String, String) {
    let (_, user, token) = server.project("schema").await;
    let client = server.connect(&user, &token).await;
    client
        .batch_execute(
            r#"CREATE SCHEMA "in.c-s";
               CREATE TABLE "in.c-s"."t" (id INTEGER NOT NULL, code STRING, qty STRING DEFAULT '1', PRIMARY KEY (id));
               INSERT INTO "in.c-s"."t" (id, code, qty) VALUES (1, 'a', '10'), (2, 'b', '20'), (3, NULL, '30');"#,
        )
        .await
        .unwrap();
    (client, user, token)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[tokio::test]
async fn columns_are_added_dropped_renamed_and_retyped() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server).await;
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD COLUMN region STRING NOT NULL DEFAULT 'eu'"#).await.unwrap();
    assert_eq!(
        text_rows(&c, r#"SELECT id, region FROM "in.c-s"."t" ORDER BY id"#).await,
        vec![vec![s("1"), s("eu")], vec![s("2"), s("eu")], vec![s("3"), s("eu")]]
    );
    // without a default, NOT NULL cannot be filled: refused, nothing changed
    let before = schema_of(&c, "t").await;
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD COLUMN must STRING NOT NULL"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23502", "{}", message(&err));
    assert_eq!(schema_of(&c, "t").await, before);
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD COLUMN code STRING"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42701");

    // retyping converts the data, or refuses naming a value that does not convert
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ALTER COLUMN qty TYPE INTEGER"#).await.unwrap();
    assert_eq!(text_rows(&c, r#"SELECT sum(qty) FROM "in.c-s"."t""#).await, vec![vec![s("60")]]);
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ALTER COLUMN code TYPE INTEGER"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22P02");
    assert!(message(&err).contains("\"a\"") || message(&err).contains("'a'"), "{}", message(&err));
    assert_eq!(text_rows(&c, r#"SELECT code FROM "in.c-s"."t" WHERE id = 1"#).await, vec![vec![s("a")]]);

    // rename, also of a key column: the key follows
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" RENAME COLUMN code TO label"#).await.unwrap();
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" RENAME COLUMN id TO key"#).await.unwrap();
    assert_eq!(
        schema_of(&c, "t").await,
        vec![
            vec![s("key"), s("INTEGER"), s("f"), None, s("t")],
            vec![s("label"), s("VARCHAR"), s("t"), None, s("f")],
            vec![s("qty"), s("INTEGER"), s("t"), s("'1'"), s("f")],
            vec![s("region"), s("VARCHAR"), s("f"), s("'eu'"), s("f")],
        ]
    );
    // the default survived the retype and rebuilds: an insert without qty and region uses them
    c.batch_execute(r#"INSERT INTO "in.c-s"."t" (key, label) VALUES (4, 'd')"#).await.unwrap();
    assert_eq!(
        text_rows(&c, r#"SELECT qty, region FROM "in.c-s"."t" WHERE key = 4"#).await,
        vec![vec![s("1"), s("eu")]]
    );
    // the key is still enforced after the rebuilds
    let err = c.batch_execute(r#"INSERT INTO "in.c-s"."t" (key) VALUES (4)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23505");

    // drops: a key column and the last column are refused
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" DROP COLUMN key"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "2BP01");
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" DROP COLUMN label, DROP COLUMN region"#).await.unwrap();
    assert_eq!(
        text_rows(&c, r#"SELECT * FROM "in.c-s"."t" ORDER BY key"#).await,
        vec![vec![s("1"), s("10")], vec![s("2"), s("20")], vec![s("3"), s("30")], vec![s("4"), s("1")]]
    );
    c.batch_execute(r#"CREATE TABLE "in.c-s"."one" (only_one STRING)"#).await.unwrap();
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."one" DROP COLUMN only_one"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P16");
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" DROP COLUMN nope"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42703");
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" DROP COLUMN IF EXISTS nope"#).await.unwrap();
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."nope" ADD COLUMN x STRING"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    c.batch_execute(r#"ALTER TABLE IF EXISTS "in.c-s"."nope" ADD COLUMN x STRING"#).await.unwrap();
    // psql sees the new shape
    let events = text_rows(&c, "SELECT count(*) FROM duckstore.events WHERE operation = 'alter_table'").await;
    assert_eq!(events, vec![vec![s("6")]]);
    server.stop().await;
}

#[tokio::test]
async fn nullability_and_defaults_change_only_when_the_data_allows() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server).await;
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ALTER COLUMN code SET NOT NULL"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23502");
    assert_eq!(schema_of(&c, "t").await[1], vec![s("code"), s("VARCHAR"), s("t"), None, s("f")]);
    c.batch_execute(r#"UPDATE "in.c-s"."t" SET code = 'c' WHERE id = 3"#).await.unwrap();
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ALTER COLUMN code SET NOT NULL"#).await.unwrap();
    let err = c.batch_execute(r#"INSERT INTO "in.c-s"."t" (id) VALUES (9)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23502");
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ALTER COLUMN code DROP NOT NULL, ALTER COLUMN code SET DEFAULT 'zz'"#)
        .await
        .unwrap();
    c.batch_execute(r#"INSERT INTO "in.c-s"."t" (id) VALUES (9)"#).await.unwrap();
    assert_eq!(text_rows(&c, r#"SELECT code FROM "in.c-s"."t" WHERE id = 9"#).await, vec![vec![s("zz")]]);
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ALTER COLUMN code DROP DEFAULT"#).await.unwrap();
    c.batch_execute(r#"INSERT INTO "in.c-s"."t" (id) VALUES (10)"#).await.unwrap();
    assert_eq!(text_rows(&c, r#"SELECT code FROM "in.c-s"."t" WHERE id = 10"#).await, vec![vec![None]]);
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ALTER COLUMN id DROP NOT NULL"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P16");
    server.stop().await;
}

#[tokio::test]
async fn primary_keys_are_checked_before_they_are_added() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server).await;
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" DROP CONSTRAINT t_pkey"#).await.unwrap();
    c.batch_execute(r#"INSERT INTO "in.c-s"."t" (id, code) VALUES (1, 'dup')"#).await.unwrap();
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD PRIMARY KEY (id)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23505");
    assert!(message(&err).contains('1'), "{}", message(&err));
    assert_eq!(text_rows(&c, r#"SELECT count(*) FROM "in.c-s"."t""#).await, vec![vec![s("4")]]);
    assert!(schema_of(&c, "t").await.iter().all(|c| c[4] == s("f")), "no key after the refusal");
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD PRIMARY KEY (code)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23502", "NULL codes: {}", message(&err));
    c.batch_execute(r#"DELETE FROM "in.c-s"."t" WHERE code = 'dup'"#).await.unwrap();
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD PRIMARY KEY (id)"#).await.unwrap();
    assert_eq!(text_rows(&c, "SELECT primary_key FROM duckstore.tables WHERE name = 't'").await, vec![vec![s("id")]]);
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD PRIMARY KEY (code)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P16");
    let err = c.batch_execute(r#"ALTER TABLE "in.c-s"."t" DROP CONSTRAINT other_name"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42704");
    let row = c.query_one("CALL drop_primary_key(table => 'in.c-s.t')", &[]).await.unwrap();
    assert!(row.get::<_, bool>("done"));
    assert_eq!(text_rows(&c, "SELECT primary_key FROM duckstore.tables WHERE name = 't'").await, vec![vec![s("")]]);
    let err = c.query_one("CALL drop_primary_key(table => 'in.c-s.t')", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42704");
    server.stop().await;
}

#[tokio::test]
async fn delete_rows_takes_structured_filters_and_never_deletes_all_by_accident() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server).await;
    let row = c
        .query_one(
            r#"CALL delete_rows(table => 'in.c-s.t', "where" => '[{"column": "code", "operator": "eq", "values": ["a", "b"]}]')"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>("deleted_rows"), row.get::<_, i64>("table_rows")), (2, 1));
    // the size answered is the catalog's, from the same write
    let bytes: i64 = row.get("table_bytes");
    let listed: i64 =
        c.query_one("SELECT bytes FROM duckstore.tables WHERE id = 'in.c-s.t'", &[]).await.unwrap().get(0);
    assert!(bytes > 0 && bytes == listed, "{bytes} vs {listed}");
    let err = c.query_one("CALL delete_rows(table => 'in.c-s.t')", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22023");
    let err = c
        .query_one(
            r#"CALL delete_rows(table => 'in.c-s.t', "where" => '[{"column": "id", "operator": "gt", "values": ["1", "2"]}]')"#,
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22023");
    let err = c
        .query_one(r#"CALL delete_rows(table => 'in.c-s.t', "where" => '[{"column": "id", "values": ["x"]}]')"#, &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22P02", "{}", message(&err));
    assert_eq!(text_rows(&c, r#"SELECT id FROM "in.c-s"."t""#).await, vec![vec![s("3")]]);
    let row = c.query_one("CALL delete_rows(table => 'in.c-s.t', all => true)", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>("deleted_rows"), 1);
    server.stop().await;
}

#[tokio::test]
async fn delete_rows_filters_on_the_values_of_another_table() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server).await;
    c.batch_execute(
        r#"CREATE SCHEMA "in.c-ref";
           CREATE TABLE "in.c-ref"."gone" (code STRING);
           INSERT INTO "in.c-ref"."gone" VALUES ('a'), (NULL);"#,
    )
    .await
    .unwrap();
    let delete = |filters: &str| format!("CALL delete_rows(table => 'in.c-s.t', ref_filters => '{filters}')");
    // NOT IN ignores the NULL among the other table's values (else it would match nothing);
    // a row whose own value is NULL is neither in nor not in, as in SQL
    let row = c
        .query_one(
            &delete(r#"[{"column": "code", "operator": "not_in", "table": "in.c-ref.gone", "ref_column": "code"}]"#),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("deleted_rows"), 1);
    let row = c
        .query_one(&delete(r#"[{"column": "code", "table": "in.c-ref.gone", "ref_column": "code"}]"#), &[])
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>("deleted_rows"), row.get::<_, i64>("table_rows")), (1, 1));
    assert_eq!(text_rows(&c, r#"SELECT id FROM "in.c-s"."t""#).await, vec![vec![s("3")]]);
    let changed = "SELECT changed_at::VARCHAR FROM duckstore.tables WHERE id = 'in.c-s.t'";
    let before = text_rows(&c, changed).await;
    for (bad, state) in [
        (r#"[{"column": "nope", "table": "in.c-ref.gone", "ref_column": "code"}]"#, "42703"),
        (r#"[{"column": "code", "table": "in.c-ref.gone", "ref_column": "nope"}]"#, "42703"),
        (r#"[{"column": "code", "table": "in.c-ref.missing", "ref_column": "code"}]"#, "42P01"),
        (r#"[{"column": "code", "operator": "like", "table": "in.c-ref.gone", "ref_column": "code"}]"#, "22023"),
        (r#"[{"column": "code"}]"#, "22023"),
    ] {
        let err = c.query_one(&delete(bad), &[]).await.unwrap_err();
        assert_eq!(sqlstate(&err), state, "{bad}: {}", message(&err));
    }
    // a refused delete did not touch the table
    assert_eq!(text_rows(&c, changed).await, before);
    // the other table is read with the session's rights: another project's is not there
    let (_, b_user, b_token) = server.project("other").await;
    let other = server.connect(&b_user, &b_token).await;
    other
        .batch_execute(
            r#"CREATE SCHEMA "in.c-s"; CREATE TABLE "in.c-s"."t" (code STRING); INSERT INTO "in.c-s"."t" VALUES ('a');"#,
        )
        .await
        .unwrap();
    let err = other
        .query_one(&delete(r#"[{"column": "code", "table": "in.c-ref.gone", "ref_column": "code"}]"#), &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42P01", "{}", message(&err));
    assert_eq!(text_rows(&other, r#"SELECT count(*) FROM "in.c-s"."t""#).await, vec![vec![s("1")]]);
    server.stop().await;
}

#[tokio::test]
async fn profiles_describe_columns_and_hint_at_quality() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server).await;
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ALTER COLUMN qty TYPE INTEGER, ADD COLUMN flag BOOLEAN DEFAULT true"#)
        .await
        .unwrap();
    let row = c.query_one("CALL profile_table(table => 'in.c-s.t')", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>("rows"), row.get::<_, i64>("columns")), (3, 4));
    let profile: serde_json::Value = serde_json::from_str(&row.get::<_, String>("profile")).unwrap();
    let qty = &profile["columns"][2];
    assert_eq!(
        (qty["name"].as_str(), qty["mean"].as_f64(), qty["q50"].as_f64()),
        (Some("qty"), Some(20.0), Some(20.0))
    );
    assert_eq!((qty["min"].as_str(), qty["max"].as_str()), (Some("10"), Some("30")));
    let code = &profile["columns"][1];
    assert_eq!(
        (code["nulls"].as_i64(), code["distinct"].as_i64(), code["max_length"].as_i64()),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(code["top_values"][0]["count"], 1);
    assert!(profile["columns"][3]["hints"].as_array().unwrap().iter().any(|h| h == "constant"));
    assert!(profile["columns"][0]["hints"].as_array().unwrap().iter().any(|h| h == "candidate_key"));
    let stored = text_rows(
        &c,
        "SELECT column_name, count, nulls, mean FROM duckstore.table_profiles WHERE table_id = 'in.c-s.t' ORDER BY column_name NULLS FIRST",
    )
    .await;
    assert_eq!(stored[0], vec![None, s("3"), None, None], "the table's own row");
    assert_eq!(stored.len(), 5);
    server.stop().await;
}

#[tokio::test]
async fn schema_changes_need_write_access() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server).await;
    let reader: String = c.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap().get("token");
    let ro = server.connect(reader.rsplit_once('-').unwrap().0, &reader).await;
    for sql in [
        r#"ALTER TABLE "in.c-s"."t" ADD COLUMN x STRING"#,
        "CALL delete_rows(table => 'in.c-s.t', all => true)",
        "CALL drop_primary_key(table => 'in.c-s.t')",
    ] {
        let err = ro.batch_execute(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42501", "{sql}");
    }
    // reading is fine: a profile
    ro.query_one("CALL profile_table(table => 'in.c-s.t')", &[]).await.unwrap();
    let (_, user, token) = server.project("other").await;
    let stranger = server.connect(&user, &token).await;
    let err = stranger.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD COLUMN x STRING"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let err = stranger.query_one("CALL profile_table(table => 'in.c-s.t')", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    assert_eq!(text_rows(&c, r#"SELECT count(*) FROM "in.c-s"."t""#).await, vec![vec![s("3")]]);
    server.stop().await;
}
