//! Views: `CREATE VIEW b.v AS SELECT …` stored in a bucket and expanded, as the reading
//! session, at each read; listed by the catalogs clients query; refused where they would give
//! a reader more than its own rights.

use tokio_postgres::Client;

use crate::harness::{TestServer, sqlstate};

async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
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

fn row(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some((*v).to_owned())).collect()
}

async fn sales(server: &TestServer) -> (Client, String, String) {
    let (_, user, token) = server.project("views").await;
    let c = server.connect(&user, &token).await;
    c.batch_execute(
        r#"CREATE SCHEMA "in.c-s";
           CREATE TABLE "in.c-s"."orders" (id INTEGER NOT NULL, country STRING, amount DECIMAL(10,2), PRIMARY KEY (id));
           INSERT INTO "in.c-s"."orders" VALUES (1, 'CZ', 10.50), (2, 'DE', 20.00), (3, 'CZ', 5.25);"#,
    )
    .await
    .unwrap();
    (c, user, token)
}

#[tokio::test]
async fn a_view_selects_columns_and_rows_of_its_table_and_sees_later_writes() {
    let server = TestServer::start().await;
    let (c, _, _) = sales(&server).await;
    c.batch_execute(r#"CREATE VIEW "in.c-s"."cz" AS SELECT id, amount FROM "in.c-s"."orders" WHERE country IN ('CZ')"#)
        .await
        .unwrap();
    assert_eq!(
        rows(&c, r#"SELECT * FROM "in.c-s"."cz" ORDER BY id"#).await,
        vec![row(&["1", "10.50"]), row(&["3", "5.25"])]
    );
    // the hidden change timestamp stays hidden through a view
    let err = c.query(r#"SELECT _timestamp FROM "in.c-s"."cz""#, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42703");
    // extended protocol, a parameter against the view, joins with the table
    let got = c
        .query(
            r#"SELECT v.id, o.country FROM "in.c-s"."cz" v JOIN "in.c-s"."orders" o ON o.id = v.id WHERE v.amount > 6 AND v.id >= $1"#,
            &[&1i32],
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].get::<_, i32>(0), 1);
    c.batch_execute(r#"INSERT INTO "in.c-s"."orders" VALUES (4, 'CZ', 1.00)"#).await.unwrap();
    assert_eq!(rows(&c, r#"SELECT count(*) FROM "in.c-s"."cz""#).await, vec![row(&["3"])]);
    // a view of a view, and unqualified names meaning the view's bucket
    c.batch_execute(r#"CREATE VIEW "in.c-s"."cz_big" AS SELECT id FROM cz WHERE amount >= 5"#).await.unwrap();
    assert_eq!(rows(&c, r#"SELECT id FROM "in.c-s"."cz_big" ORDER BY id"#).await, vec![row(&["1"]), row(&["3"])]);
    assert_eq!(rows(&c, r#"SELECT sum(amount) FROM "in.c-s"."cz""#).await, vec![row(&["16.75"])]);
    // a write may read a view (simple and extended protocol), and COPY may stream one out
    c.batch_execute(
        r#"CREATE TABLE "in.c-s"."copy" (id INTEGER, amount DECIMAL(10,2));
           INSERT INTO "in.c-s"."copy" SELECT * FROM "in.c-s"."cz" WHERE id < 3"#,
    )
    .await
    .unwrap();
    let n = c.execute(r#"INSERT INTO "in.c-s"."copy" SELECT id, amount FROM "in.c-s"."cz_big" JOIN "in.c-s"."cz" USING (id) WHERE id > $1"#, &[&2i32]).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(rows(&c, r#"SELECT id FROM "in.c-s"."copy" ORDER BY id"#).await, vec![row(&["1"]), row(&["3"])]);
    let out = c.copy_out(r#"COPY (SELECT id FROM "in.c-s"."cz" ORDER BY id) TO STDOUT"#).await.unwrap();
    let chunks: Vec<bytes::Bytes> = futures::TryStreamExt::try_collect(out).await.unwrap();
    assert_eq!(chunks.concat(), b"1\n3\n4\n");
}

#[tokio::test]
async fn views_are_listed_where_clients_look_for_them() {
    let server = TestServer::start().await;
    let (c, _, _) = sales(&server).await;
    c.batch_execute(
        r#"CREATE VIEW "in.c-s"."totals" AS SELECT country, sum(amount) AS total FROM orders GROUP BY country"#,
    )
    .await
    .unwrap();
    assert_eq!(
        rows(&c, "SELECT id, columns, in_branch FROM duckstore.views").await,
        vec![row(&["in.c-s.totals", "2", "t"])]
    );
    assert_eq!(
        rows(
            &c,
            "SELECT name, type, base_type FROM duckstore.columns WHERE table_id = 'in.c-s.totals' ORDER BY position"
        )
        .await,
        vec![row(&["country", "VARCHAR", "STRING"]), row(&["total", "DECIMAL(38,2)", "NUMERIC"])]
    );
    assert_eq!(
        rows(
            &c,
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'in.c-s' ORDER BY 1"
        )
        .await,
        vec![row(&["orders", "BASE TABLE"]), row(&["totals", "VIEW"])]
    );
    assert_eq!(
        rows(
            &c,
            "SELECT relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE relkind = 'v' AND nspname = 'in.c-s'"
        )
        .await,
        vec![row(&["totals"])]
    );
    assert_eq!(
        rows(
            &c,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'totals' ORDER BY ordinal_position"
        )
        .await,
        vec![row(&["country"]), row(&["total"])]
    );
    // the definition, as psql's \d+ asks for it and as pg_views / information_schema show it
    let definition = " SELECT country, sum(amount) AS total FROM orders GROUP BY country;";
    assert_eq!(
        rows(&c, "SELECT pg_get_viewdef(oid) FROM pg_catalog.pg_class WHERE relname = 'totals'").await,
        vec![row(&[definition])]
    );
    assert_eq!(rows(&c, "SELECT schemaname, definition FROM pg_views").await, vec![row(&["in.c-s", definition])]);
    assert_eq!(
        rows(&c, "SELECT table_name, view_definition FROM information_schema.views").await,
        vec![row(&["totals", definition])]
    );
}

#[tokio::test]
async fn creating_replacing_and_dropping_views_follow_postgres() {
    let server = TestServer::start().await;
    let (c, _, _) = sales(&server).await;
    let create = r#"CREATE VIEW "in.c-s"."v" AS SELECT id FROM orders"#;
    c.batch_execute(create).await.unwrap();
    let err = c.batch_execute(create).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P07");
    c.batch_execute(r#"CREATE VIEW IF NOT EXISTS "in.c-s"."v" AS SELECT 1 AS x"#).await.unwrap();
    assert_eq!(rows(&c, r#"SELECT count(*) FROM "in.c-s"."v""#).await, vec![row(&["3"])]);
    c.batch_execute(r#"CREATE OR REPLACE VIEW "in.c-s"."v" AS SELECT country FROM orders WHERE id = 2"#).await.unwrap();
    assert_eq!(rows(&c, r#"SELECT * FROM "in.c-s"."v""#).await, vec![row(&["DE"])]);
    // one namespace with tables, both ways
    let err = c.batch_execute(r#"CREATE VIEW "in.c-s"."orders" AS SELECT 1 AS x"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P07");
    let err = c.batch_execute(r#"CREATE TABLE "in.c-s"."v" (x INTEGER)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P07");
    // a view is not a table to write into or load from
    let err = c.batch_execute(r#"INSERT INTO "in.c-s"."v" VALUES ('x')"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42809", "{err:?}");
    // what a view may not be
    for (sql, state) in [
        (r#"CREATE VIEW "in.c-s"."bad" AS SELECT * FROM "in.c-s"."missing""#, "42P01"),
        (r#"CREATE VIEW "in.c-s"."bad" AS SELECT * FROM duckstore.tables"#, "0A000"),
        (r#"CREATE VIEW "in.c-s"."bad" AS SELECT * FROM read_csv('/etc/passwd')"#, "42501"),
        (r#"CREATE VIEW "in.c-s"."bad" AS SELECT id, id FROM orders"#, "42701"),
        (r#"CREATE VIEW "in.c-s"."bad" AS SELECT nope FROM orders"#, "42703"),
        (r#"CREATE VIEW "in.c-s"."bad" (a) AS SELECT id FROM orders"#, "0A000"),
        (r#"CREATE MATERIALIZED VIEW "in.c-s"."bad" AS SELECT id FROM orders"#, "0A000"),
        (r#"CREATE VIEW "in.c-nope"."bad" AS SELECT 1 AS x"#, "3F000"),
        (r#"CREATE VIEW "in.c-s"."bad name!" AS SELECT 1 AS x"#, "42602"),
    ] {
        let err = c.batch_execute(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), state, "{sql}: {err:?}");
    }
    // the source table goes: reading the view says so, the session goes on
    c.batch_execute(r#"CREATE VIEW "in.c-s"."ids" AS SELECT id FROM orders"#).await.unwrap();
    c.batch_execute(r#"DROP TABLE "in.c-s"."orders""#).await.unwrap();
    let err = c.query(r#"SELECT * FROM "in.c-s"."ids""#, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    // a bucket with views needs CASCADE
    let err = c.batch_execute(r#"DROP SCHEMA "in.c-s""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "2BP01");
    c.batch_execute(r#"DROP VIEW "in.c-s"."v", "in.c-s"."ids""#).await.unwrap();
    let err = c.batch_execute(r#"DROP VIEW "in.c-s"."v""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    c.batch_execute(r#"DROP VIEW IF EXISTS "in.c-s"."v""#).await.unwrap();
    c.batch_execute(r#"DROP SCHEMA "in.c-s" CASCADE"#).await.unwrap();
    assert!(rows(&c, "SELECT * FROM duckstore.views").await.is_empty());
}

#[tokio::test]
async fn views_that_would_read_themselves_or_explode_are_refused() {
    let server = TestServer::start().await;
    let (c, _, _) = sales(&server).await;
    c.batch_execute(
        r#"CREATE VIEW "in.c-s"."a" AS SELECT id FROM orders;
           CREATE VIEW "in.c-s"."b" AS SELECT id FROM a;"#,
    )
    .await
    .unwrap();
    for sql in [
        r#"CREATE OR REPLACE VIEW "in.c-s"."a" AS SELECT id FROM b"#,
        r#"CREATE OR REPLACE VIEW "in.c-s"."a" AS SELECT id FROM a"#,
    ] {
        let err = c.batch_execute(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42P17", "{sql}");
    }
    assert_eq!(rows(&c, r#"SELECT count(*) FROM "in.c-s"."b""#).await, vec![row(&["3"])]);
    // each level joins the one below ten times: the third level would read 1 000 relations
    let tenfold = |inner: &str| {
        let joins: Vec<String> = (1..10).map(|i| format!("JOIN {inner} t{i} USING (id)")).collect();
        format!("SELECT t0.id FROM {inner} t0 {}", joins.join(" "))
    };
    c.batch_execute(&format!(r#"CREATE VIEW "in.c-s"."x1" AS {}"#, tenfold("b"))).await.unwrap();
    c.batch_execute(&format!(r#"CREATE VIEW "in.c-s"."x2" AS {}"#, tenfold("x1"))).await.unwrap();
    let err = c.batch_execute(&format!(r#"CREATE VIEW "in.c-s"."x3" AS {}"#, tenfold("x2"))).await.unwrap_err();
    assert_eq!(sqlstate(&err), "54001");
    // views nest eight deep: the chain's ninth level is refused, when read and when created
    c.batch_execute(r#"CREATE VIEW "in.c-s"."v0" AS SELECT id FROM orders"#).await.unwrap();
    for level in 1..=8 {
        c.batch_execute(&format!(r#"CREATE VIEW "in.c-s"."v{level}" AS SELECT id FROM v{}"#, level - 1)).await.unwrap();
    }
    assert_eq!(rows(&c, r#"SELECT count(*) FROM "in.c-s"."v7""#).await, vec![row(&["3"])]);
    let err = c.query(r#"SELECT count(*) FROM "in.c-s"."v8""#, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P17");
    let err = c.batch_execute(r#"CREATE VIEW "in.c-s"."v9" AS SELECT id FROM v8"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P17");
    assert_eq!(rows(&c, "SELECT 1").await, vec![row(&["1"])]);
}

#[tokio::test]
async fn a_view_in_postgres_syntax_reads_back_and_views_are_not_tables() {
    let server = TestServer::start().await;
    let (c, _, _) = sales(&server).await;
    // E'' strings parse only in PostgreSQL's dialect
    c.batch_execute(r#"CREATE VIEW "in.c-s"."tabbed" AS SELECT E'a\tb' AS s"#).await.unwrap();
    c.batch_execute(r#"CREATE VIEW "in.c-s"."nested" AS SELECT s FROM tabbed"#).await.unwrap();
    assert_eq!(rows(&c, r#"SELECT s FROM "in.c-s"."nested""#).await, vec![row(&["a\tb"])]);
    for (sql, state) in [
        (r#"DROP VIEW "in.c-s"."orders""#, "42809"),
        ("CALL export_table(table => 'in.c-s.tabbed')", "42809"),
        ("CALL profile_table(table => 'in.c-s.tabbed')", "42809"),
        ("CALL create_snapshot(table => 'in.c-s.tabbed')", "42809"),
    ] {
        let err = c.batch_execute(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), state, "{sql}: {err:?}");
    }
    // a dropped table's snapshot cannot come back under a view's name
    let id: i64 = c.query_one("CALL create_snapshot(table => 'in.c-s.orders')", &[]).await.unwrap().get("id");
    c.batch_execute(r#"DROP TABLE "in.c-s"."orders"; CREATE VIEW "in.c-s"."orders" AS SELECT 1 AS x"#).await.unwrap();
    let err = c.query_one("CALL restore_snapshot(id => $1)", &[&id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P07");
}

#[tokio::test]
async fn a_view_gives_no_reader_more_than_its_own_rights() {
    let server = TestServer::start().await;
    let (c, _, _) = sales(&server).await;
    c.batch_execute(
        r#"CREATE SCHEMA "in.c-secret";
           CREATE TABLE "in.c-secret"."salaries" (name STRING, pay INTEGER);
           INSERT INTO "in.c-secret"."salaries" VALUES ('ann', 100);
           CREATE VIEW "in.c-s"."pay" AS SELECT * FROM "in.c-secret"."salaries";"#,
    )
    .await
    .unwrap();
    c.query("CALL revoke_bucket_read(bucket => 'in.c-secret')", &[]).await.unwrap();
    let ro = c.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap();
    let reader = server.connect(&ro.get::<_, String>("user_name"), &ro.get::<_, String>("token")).await;
    // the read-only role may read "in.c-s" but not "in.c-secret": not through the view either
    assert_eq!(rows(&reader, r#"SELECT count(*) FROM "in.c-s"."orders""#).await, vec![row(&["3"])]);
    let err = reader.query(r#"SELECT * FROM "in.c-s"."pay""#, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    // nor may it create or drop views
    let err = reader.batch_execute(r#"CREATE VIEW "in.c-s"."mine" AS SELECT id FROM orders"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    let err = reader.batch_execute(r#"DROP VIEW "in.c-s"."pay""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    // another project sees neither the view nor a way to create one in this project's bucket
    let (_, b_user, b_token) = server.project("other").await;
    let other = server.connect(&b_user, &b_token).await;
    let err = other.query(r#"SELECT * FROM "in.c-s"."pay""#, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let err = other.batch_execute(r#"CREATE VIEW "in.c-s"."x" AS SELECT 1 AS x"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "3F000");
    let err = other.batch_execute(r#"DROP VIEW "in.c-s"."pay""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    assert!(rows(&other, "SELECT * FROM duckstore.views").await.is_empty());
    assert_eq!(rows(&c, r#"SELECT * FROM "in.c-s"."pay""#).await, vec![row(&["ann", "100"])]);
}

#[tokio::test]
async fn a_dev_branch_sees_main_views_over_its_own_tables_and_drops_them_only_there() {
    let server = TestServer::start().await;
    let (c, user, token) = sales(&server).await;
    c.batch_execute(r#"CREATE VIEW "in.c-s"."cz" AS SELECT id FROM orders WHERE country = 'CZ'"#).await.unwrap();
    let branch = c.query_one("CALL create_branch(name => 'dev')", &[]).await.unwrap().get::<_, i64>("id");
    let dev = server.try_connect(&user, &token, &branch.to_string()).await.unwrap();
    assert_eq!(rows(&dev, r#"SELECT count(*) FROM "in.c-s"."cz""#).await, vec![row(&["2"])]);
    // the branch's write shows through the main view in the branch only
    dev.batch_execute(r#"INSERT INTO "in.c-s"."orders" VALUES (9, 'CZ', 1)"#).await.unwrap();
    assert_eq!(rows(&dev, r#"SELECT count(*) FROM "in.c-s"."cz""#).await, vec![row(&["3"])]);
    assert_eq!(rows(&c, r#"SELECT count(*) FROM "in.c-s"."cz""#).await, vec![row(&["2"])]);
    assert_eq!(rows(&dev, "SELECT id, in_branch FROM duckstore.views").await, vec![row(&["in.c-s.cz", "f"])]);
    // a branch's own view stays in the branch
    dev.batch_execute(r#"CREATE VIEW "in.c-s"."de" AS SELECT id FROM orders WHERE country = 'DE'"#).await.unwrap();
    assert_eq!(rows(&dev, r#"SELECT count(*) FROM "in.c-s"."de""#).await, vec![row(&["1"])]);
    let err = c.query(r#"SELECT * FROM "in.c-s"."de""#, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    // replacing the main view in the branch, then dropping the replacement, shows neither
    dev.batch_execute(r#"CREATE OR REPLACE VIEW "in.c-s"."cz" AS SELECT 0 AS id"#).await.unwrap();
    assert_eq!(rows(&dev, r#"SELECT id FROM "in.c-s"."cz""#).await, vec![row(&["0"])]);
    dev.batch_execute(r#"DROP VIEW "in.c-s"."cz""#).await.unwrap();
    let err = dev.query(r#"SELECT * FROM "in.c-s"."cz""#, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    assert_eq!(rows(&c, r#"SELECT count(*) FROM "in.c-s"."cz""#).await, vec![row(&["2"])]);
    // a main view in a bucket the branch has not touched is listed as read live
    c.batch_execute(r#"CREATE SCHEMA "in.c-quiet"; CREATE VIEW "in.c-quiet"."one" AS SELECT 1 AS x"#).await.unwrap();
    assert_eq!(
        rows(&dev, "SELECT id, in_branch FROM duckstore.views ORDER BY id").await,
        vec![row(&["in.c-quiet.one", "f"]), row(&["in.c-s.de", "t"])]
    );
}
