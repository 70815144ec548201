//! The security suite: every procedure, statement kind and sidecar route, tried with every kind
//! of credential that must not reach a victim project's data, with hostile names and options,
//! and the gateway's and the sandbox's escapes. After every attempt the victim project must be
//! exactly as it was; no attempt may answer XX000 or end the session. Each test prints how
//! many attempts it made and how many were refused.

use duckstore::gateway::procedures::{ArgKind, PROCEDURES};
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::harness::{ADMIN_TOKEN, TestServer, sqlstate};

/// The victim: a project with a bucket, a keyed table with rows, a file, a snapshot, a dev branch,
/// a workspace and a spare token.
struct Victim {
    project: i64,
    user: String,
    token: String,
    token_id: String,
    file: i64,
    snapshot: i64,
    branch: i64,
    workspace: i64,
    workspace_user: String,
    workspace_password: String,
}

async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect()),
            _ => None,
        })
        .collect()
}

async fn victim(server: &TestServer) -> Victim {
    let (project, user, token) = server.project("victim").await;
    let c = server.connect(&user, &token).await;
    c.batch_execute(
        r#"CREATE SCHEMA "in.c-v";
           CREATE TABLE "in.c-v"."t" (id INTEGER NOT NULL, name STRING, PRIMARY KEY (id));
           INSERT INTO "in.c-v"."t" SELECT range, 'n' || range FROM range(100);
           CREATE VIEW "in.c-v"."vw" AS SELECT id, name FROM t WHERE id < 10;"#,
    )
    .await
    .unwrap();
    let upload = reqwest::Client::new()
        .post(format!("http://{}/v1/files?name=v.csv", server.http_addr))
        .bearer_auth(&token)
        .body("id,name\n1,a\n")
        .send()
        .await
        .unwrap();
    let file: i64 = upload.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let snapshot: i64 = c.query_one("CALL create_snapshot(table => 'in.c-v.t')", &[]).await.unwrap().get("id");
    let branch: i64 = c.query_one("CALL create_branch(name => 'dev')", &[]).await.unwrap().get("id");
    let ws = c.query_one("CALL create_workspace(name => 'w')", &[]).await.unwrap();
    let spare = c.query_one("CALL create_token(scope => 'branch_admin')", &[]).await.unwrap();
    Victim {
        project,
        user,
        token,
        token_id: spare.get("token_id"),
        file,
        snapshot,
        branch,
        workspace: ws.get("id"),
        workspace_user: ws.get("user"),
        workspace_password: ws.get("password"),
    }
}

/// Everything of the victim an attack could change, read by the admin and the victim's token.
async fn fingerprint(server: &TestServer, v: &Victim) -> Vec<Vec<Vec<Option<String>>>> {
    let admin = server.admin().await;
    let p = v.project;
    let mut all = Vec::new();
    // the default branch's objects: a dev branch's own token may change its own branch
    let main = format!(
        "project_id = {p} AND branch_id = (SELECT id FROM duckstore.branches WHERE project_id = {p} AND is_default)"
    );
    for sql in [
        format!("SELECT id, name FROM duckstore.projects WHERE id = {p}"),
        format!("SELECT id, name FROM duckstore.branches WHERE project_id = {p} ORDER BY id"),
        format!("SELECT id, scope, active FROM duckstore.tokens WHERE project_id = {p} ORDER BY id"),
        format!("SELECT * FROM duckstore.buckets WHERE {main} ORDER BY id"),
        format!("SELECT id, columns, primary_key, rows FROM duckstore.tables WHERE {main} ORDER BY 1"),
        format!("SELECT id, sha256 FROM duckstore.files WHERE id = {}", v.file),
        format!("SELECT id FROM duckstore.snapshots WHERE {main} ORDER BY id"),
        format!("SELECT id, name FROM duckstore.workspaces WHERE {main} ORDER BY id"),
        format!("SELECT id, definition, columns FROM duckstore.views WHERE {main} ORDER BY id"),
    ] {
        all.push(rows(&admin, &sql).await);
    }
    let owner = server.connect(&v.user, &v.token).await;
    all.push(rows(&owner, r#"SELECT count(*), sum(id), max(name) FROM "in.c-v"."t""#).await);
    all.push(rows(&owner, "SELECT level, target, key, value FROM duckstore.snapshot_settings ORDER BY ALL").await);
    // the workspace password still works
    let ws = server.try_connect(&v.workspace_user, &v.workspace_password, &v.workspace_user).await;
    all.push(vec![vec![Some(ws.is_ok().to_string())]]);
    all
}

/// The argument a procedure parameter gets when aimed at the victim.
fn aimed(procedure: &str, param: &str, kind: ArgKind, v: &Victim) -> Option<String> {
    let text = |s: &str| Some(format!("'{}'", s.replace('\'', "''")));
    Some(match (param, kind) {
        ("table" | "source" | "target", _) => return text("in.c-v.t"),
        ("bucket" | "source_bucket", _) => return text("in.c-v"),
        ("project" | "source_project", _) => v.project.to_string(),
        ("token_id", _) => return text(&v.token_id),
        ("file_id", _) => v.file.to_string(),
        ("workspace", _) => v.workspace.to_string(),
        ("id", _) if procedure.contains("snapshot") => v.snapshot.to_string(),
        ("id", _) if procedure.contains("branch") => v.branch.to_string(),
        ("id", _) if procedure.contains("workspace") => v.workspace.to_string(),
        ("id", _) => v.project.to_string(),
        ("stage", _) => return text("in"),
        ("level", _) => return text("table"),
        ("format", _) => return text("csv"),
        ("dedup", _) => return text("update"),
        ("scope", _) => return text("branch_admin"),
        ("query", _) => return text("DROP TABLE IF EXISTS x"),
        ("where", _) => return text(r#"[{"column": "id", "operator": "ge", "values": ["0"]}]"#),
        ("tables", _) => return text(r#"[{"source": "in.c-v.t", "destination": "stolen"}]"#),
        ("at", _) => return text("1 minute"),
        ("all", _) => "true".into(),
        (_, ArgKind::Int) => "1".into(),
        (_, ArgKind::Bool) => "false".into(),
        (_, ArgKind::Moment) => return text("1 hour"),
        (_, ArgKind::Text) => return text("x"),
    })
}

fn assert_same(before: &[Vec<Vec<Option<String>>>], after: &[Vec<Vec<Option<String>>>], what: &str) {
    for (i, (b, a)) in before.iter().zip(after).enumerate() {
        assert_eq!(b, a, "{what}: part {i} of the victim project changed");
    }
}

fn call_aimed_at(procedure: &duckstore::gateway::procedures::ProcedureSpec, v: &Victim) -> String {
    let args: Vec<String> = procedure
        .params
        .iter()
        .filter(|p| p.required || matches!(p.name, "project" | "source_project" | "all" | "where"))
        .filter_map(|p| aimed(procedure.name, p.name, p.kind, v).map(|value| format!("\"{}\" => {value}", p.name)))
        .collect();
    format!("CALL {}({})", procedure.name, args.join(", "))
}

/// Runs `sql` and counts the outcome: a refusal, or (for a caller acting on its own objects) a
/// success. Never XX000, and the session answers afterwards.
async fn attempt(client: &Client, sql: &str, refused: &mut usize) {
    match client.simple_query(sql).await {
        Err(e) => {
            let state = sqlstate(&e);
            assert!(!state.is_empty() && state != "XX000" && !state.starts_with("no SQLSTATE"), "{sql}: {e}");
            *refused += 1;
        }
        Ok(_) => println!("security: allowed (acts on the caller's own objects): {sql}"),
    }
    assert!(client.simple_query("SELECT 1").await.is_ok(), "the session survives {sql}");
}

#[tokio::test]
async fn no_credential_reaches_another_project() {
    let server = TestServer::start().await;
    let v = victim(&server).await;
    let before = fingerprint(&server, &v).await;
    let owner = server.connect(&v.user, &v.token).await;

    // the attackers: another project's token, the victim's own read-only token, a token of the
    // victim's dev branch, a workspace login of another project
    let (_, b_user, b_token) = server.project("attacker").await;
    let attacker = server.connect(&b_user, &b_token).await;
    let ro = owner.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap();
    let (ro_user, ro_token): (String, String) = (ro.get("user_name"), ro.get("token"));
    let reader = server.connect(&ro_user, &ro_token).await;
    let dev = owner
        .query_one(&format!("CALL create_token(scope => 'branch_admin', branch => {})", v.branch), &[])
        .await
        .unwrap();
    let dev_client =
        server.try_connect(&dev.get::<_, String>("user_name"), &dev.get::<_, String>("token"), "dev").await.unwrap();
    let b_ws = attacker.query_one("CALL create_workspace(name => 'evil')", &[]).await.unwrap();
    let ws_client = server
        .try_connect(&b_ws.get::<_, String>("user"), &b_ws.get::<_, String>("password"), &b_ws.get::<_, String>("user"))
        .await
        .unwrap();
    let before = {
        // creating the attackers' tokens and workspace changed the victim's token list only
        let now = fingerprint(&server, &v).await;
        assert_eq!(now[..2], before[..2]);
        now
    };

    let mut tried = 0;
    let mut refused = 0;
    // every procedure aimed at the victim's objects
    for attacker_client in [&attacker, &reader, &dev_client, &ws_client] {
        for procedure in PROCEDURES {
            if procedure.name == "profile_table" && std::ptr::eq(attacker_client, &reader) {
                continue; // a read: read-only tokens may profile their own tables
            }
            let sql = call_aimed_at(procedure, &v);
            tried += 1;
            attempt(attacker_client, &sql, &mut refused).await;
        }
    }
    // every statement kind aimed at the victim's table
    let statements = [
        r#"SELECT * FROM "in.c-v"."t""#,
        r#"SELECT * FROM "in.c-v".t JOIN "in.c-v".t u USING (id)"#,
        r#"INSERT INTO "in.c-v"."t" VALUES (1000, 'x')"#,
        r#"INSERT INTO "in.c-v"."t" VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET name = 'pwned'"#,
        r#"UPDATE "in.c-v"."t" SET name = 'pwned'"#,
        r#"DELETE FROM "in.c-v"."t""#,
        r#"TRUNCATE "in.c-v"."t""#,
        r#"ALTER TABLE "in.c-v"."t" ADD COLUMN x STRING"#,
        r#"ALTER TABLE "in.c-v"."t" DROP COLUMN name"#,
        r#"ALTER TABLE "in.c-v"."t" DROP CONSTRAINT t_pkey"#,
        r#"DROP TABLE "in.c-v"."t""#,
        r#"DROP SCHEMA "in.c-v" CASCADE"#,
        r#"CREATE TABLE "in.c-v"."new" (id INTEGER)"#,
        r#"CREATE VIEW "in.c-v"."mine" AS SELECT * FROM "in.c-v"."t""#,
        r#"CREATE OR REPLACE VIEW "in.c-v"."vw" AS SELECT 1 AS x"#,
        r#"DROP VIEW "in.c-v"."vw""#,
        r#"INSERT INTO "in.c-v"."t" SELECT id + 1000, name FROM "in.c-v"."vw""#,
        r#"COPY "in.c-v"."t" TO STDOUT"#,
        r#"COPY (SELECT * FROM "in.c-v"."t") TO STDOUT"#,
        r#"SELECT * FROM "1"."in.c-v"."t""#,
        r#"SELECT * FROM main."in.c-v"."t""#,
        r#"SELECT * FROM "in.c-v"."vw""#,
        r#"COPY (SELECT * FROM "in.c-v"."vw") TO STDOUT"#,
    ];
    for client in [&attacker, &ws_client] {
        for sql in statements {
            tried += 1;
            attempt(client, sql, &mut refused).await;
        }
    }
    for sql in &statements[2..17] {
        tried += 1;
        attempt(&reader, sql, &mut refused).await;
    }
    // a COPY FROM STDIN into the victim's table
    for client in [&attacker, &reader] {
        tried += 1;
        if client.copy_in::<_, bytes::Bytes>(r#"COPY "in.c-v"."t" FROM STDIN"#).await.is_err() {
            refused += 1;
        }
    }
    let after = fingerprint(&server, &v).await;
    assert_same(&before, &after, "an attack");
    println!("security: procedures and statements: tried {tried}, refused {refused}, victim unchanged");
    assert!(refused * 10 >= tried * 9, "most attempts must be refused outright: {refused} of {tried}");
    server.stop().await;
}

#[tokio::test]
async fn bad_credentials_never_log_in_or_reach_files() {
    let server = TestServer::start().await;
    let v = victim(&server).await;
    let owner = server.connect(&v.user, &v.token).await;
    let expired =
        owner.query_one("CALL create_token(scope => 'branch_admin', expires => '1 second')", &[]).await.unwrap();
    let revoked = owner.query_one("CALL create_token(scope => 'branch_admin')", &[]).await.unwrap();
    owner.query_one("CALL revoke_token(token_id => $1)", &[&revoked.get::<_, String>("token_id")]).await.unwrap();
    let ro = owner.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap();
    let dev = owner
        .query_one(&format!("CALL create_token(scope => 'branch_read', branch => {})", v.branch), &[])
        .await
        .unwrap();
    let (_, b_user, b_token) = server.project("attacker").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let tok = |r: &tokio_postgres::Row, c: &str| r.get::<_, String>(c);
    let mut tried = 0;
    let mut refused = 0;
    // logins: (user, password, database, expected SQLSTATE)
    let logins: Vec<(String, String, String, &str)> = vec![
        (tok(&expired, "user_name"), tok(&expired, "token"), "main".into(), "28P01"),
        (tok(&revoked, "user_name"), tok(&revoked, "token"), "main".into(), "28P01"),
        (v.user.clone(), "garbage".into(), "main".into(), "28P01"),
        (v.user.clone(), b_token.clone(), "main".into(), "28P01"),
        (b_user.clone(), v.token.clone(), "main".into(), "28P01"),
        ("admin".into(), v.token.clone(), "main".into(), "28P01"),
        ("admin".into(), format!("{ADMIN_TOKEN}x"), "main".into(), "28P01"),
        (v.user.clone(), v.workspace_password.clone(), "main".into(), "28P01"),
        (v.workspace_user.clone(), v.token.clone(), v.workspace_user.clone(), "28P01"),
        (v.workspace_user.clone(), v.workspace_password.clone(), "main".into(), "3D000"),
        (tok(&dev, "user_name"), tok(&dev, "token"), "main".into(), "42501"),
        ("'; DROP TABLE x; --".into(), "x".into(), "main".into(), "28P01"),
        ("../../etc/passwd".into(), "x".into(), "main".into(), "28P01"),
        (v.user.clone(), v.token.clone(), "../../etc".into(), "3D000"),
        (v.user.clone(), v.token.clone(), "999999".into(), "3D000"),
    ];
    for (user, password, database, expected) in &logins {
        tried += 1;
        match server.try_connect(user, password, database).await {
            Ok(_) => panic!("{user} / {database} logged in"),
            Err(e) => {
                let state = sqlstate(&e);
                assert!(
                    state == *expected || (state.starts_with("28") && expected.starts_with("28")),
                    "{user} / {database}: {state} {e:?}"
                );
                refused += 1;
            }
        }
    }
    // the sidecar: every route with every bad bearer
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.http_addr);
    let f = v.file;
    let routes: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::GET, "/v1/files".into()),
        (reqwest::Method::GET, format!("/v1/files/{f}")),
        (reqwest::Method::GET, format!("/v1/files/{f}/content")),
        (reqwest::Method::DELETE, format!("/v1/files/{f}")),
        (reqwest::Method::POST, "/v1/files?name=x.csv".into()),
    ];
    let bearers: Vec<(Option<String>, &str)> = vec![
        (None, "none"),
        (Some("garbage".into()), "garbage"),
        (Some(tok(&expired, "token")), "expired"),
        (Some(tok(&revoked, "token")), "revoked"),
        (Some(v.workspace_password.clone()), "workspace password"),
        (Some(b_token.clone()), "another project"),
        (Some(ADMIN_TOKEN.into()), "admin"),
    ];
    for (method, path) in &routes {
        for (bearer, what) in &bearers {
            let mut request = http.request(method.clone(), format!("{base}{path}")).body("a,b\n1,2\n");
            if let Some(b) = bearer {
                request = request.bearer_auth(b);
            }
            let status = request.send().await.unwrap().status();
            tried += 1;
            let listing_own = *what == "another project" && method == reqwest::Method::GET && path == "/v1/files";
            let upload_own = *what == "another project" && method == reqwest::Method::POST;
            if listing_own || upload_own {
                assert!(status.is_success(), "{method} {path} as {what}: {status}");
                continue;
            }
            assert!(status.is_client_error(), "{method} {path} as {what}: {status}");
            refused += 1;
        }
        // a read-only token reads, never writes
        let status = http
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(tok(&ro, "token"))
            .body("a\n1\n")
            .send()
            .await
            .unwrap()
            .status();
        tried += 1;
        if *method == reqwest::Method::GET {
            assert!(status.is_success(), "{method} {path} read-only: {status}");
        } else {
            assert_eq!(status.as_u16(), 403, "{method} {path} read-only");
            refused += 1;
        }
    }
    // the victim's file is still there, whole
    let body = http.get(format!("{base}/v1/files/{f}/content")).bearer_auth(&v.token).send().await.unwrap();
    assert_eq!(body.text().await.unwrap(), "id,name\n1,a\n");
    println!("security: logins and sidecar routes: tried {tried}, refused {refused}");
    server.stop().await;
}

const HOSTILE: &[&str] = &[
    r#"in.c-v.t"; DROP TABLE "in.c-v"."t"; --"#,
    "in.c-v.t' OR '1'='1",
    "'; SELECT * FROM read_text('/etc/passwd'); --",
    "../../../../etc/passwd",
    "/etc/passwd",
    "in.c-../../t",
    "in.c-v\\0.t",
    "in.c-v.t\n; ATTACH '/tmp/x.duckdb'",
    "$$; COPY (SELECT 1) TO '/tmp/duckstore-pwned'; $$",
    "ïn.c-v.ţ",
    "\u{202e}in.c-v.t",
    "in.c-v.t%00",
    "",
    " ",
    "in.c-.",
    "\"",
    "\\",
];

#[tokio::test]
async fn hostile_names_and_options_are_refused_or_harmless() {
    let server = TestServer::start().await;
    let v = victim(&server).await;
    let owner = server.connect(&v.user, &v.token).await;
    let before = fingerprint(&server, &v).await;
    let mut tried = 0;
    let mut refused = 0;
    // every text argument of every procedure, hostile, from the owner's own session
    for procedure in PROCEDURES {
        if matches!(
            procedure.name,
            "create_token" | "create_branch" | "create_workspace" | "rotate_token" | "execute_workspace_query"
        ) {
            // free text by design (descriptions, names of the owner's own objects, workspace SQL
            // that the sandbox test covers)
            continue;
        }
        for (i, param) in procedure.params.iter().enumerate() {
            if !matches!(param.kind, ArgKind::Text | ArgKind::Moment) {
                continue;
            }
            for hostile in HOSTILE {
                let args: Vec<String> = procedure
                    .params
                    .iter()
                    .enumerate()
                    .filter(|(j, p)| p.required || *j == i)
                    .filter_map(|(j, p)| {
                        let value = if j == i {
                            Some(format!("'{}'", hostile.replace('\'', "''").replace('\0', "")))
                        } else {
                            aimed(procedure.name, p.name, p.kind, &v)
                        };
                        value.map(|value| format!("\"{}\" => {value}", p.name))
                    })
                    .collect();
                let sql = format!("CALL {}({})", procedure.name, args.join(", "));
                if param.required {
                    tried += 1;
                    attempt(&owner, &sql, &mut refused).await;
                }
            }
        }
    }
    // hostile names in DDL and DML, and hostile COPY options
    for hostile in HOSTILE {
        let quoted = hostile.replace('"', "\"\"").replace('\0', "");
        for sql in [
            format!(r#"CREATE SCHEMA "{quoted}""#),
            format!(r#"CREATE TABLE "in.c-v"."{quoted}" (id INTEGER)"#),
            format!(r#"CREATE TABLE "in.c-v"."ok" ("{quoted}" INTEGER)"#),
            format!(r#"ALTER TABLE "in.c-v"."t" RENAME COLUMN name TO "{quoted}""#),
            format!(r#"SELECT * FROM "{quoted}""#),
        ] {
            tried += 1;
            attempt(&owner, &sql, &mut refused).await;
        }
        // a hostile COPY option is refused, or (a one-character delimiter) only shapes the output
        let delimiter = hostile.replace('\'', "''").replace('\0', "");
        let sql = format!(r#"COPY "in.c-v"."t" TO STDOUT (FORMAT csv, DELIMITER '{delimiter}')"#);
        if let Err(e) = owner.copy_out(sql.as_str()).await {
            assert!(!["", "XX000"].contains(&sqlstate(&e).as_str()), "{sql}: {e}");
        }
        assert!(owner.simple_query("SELECT 1").await.is_ok(), "the session survives {sql}");
    }
    let after = fingerprint(&server, &v).await;
    assert_same(&before, &after, "hostile input");
    assert!(!std::path::Path::new("/tmp/duckstore-pwned").exists());
    println!("security: hostile names and options: tried {tried}, refused {refused}, project unchanged");
    assert_eq!(tried, refused, "every hostile name and option must be refused");
    server.stop().await;
}

const ESCAPES: &[&str] = &[
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM read_parquet('/etc/passwd')",
    "SELECT * FROM read_json('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM parquet_metadata('/etc/passwd')",
    "SELECT * FROM query_table('/etc/passwd')",
    "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')",
    "SELECT getenv('HOME')",
    "SELECT current_setting('allowed_directories')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM duckstore_relation(1)",
    "SELECT * FROM duckstore_storage_scan('in.c-v', 't')",
    "COPY (SELECT 1) TO '/tmp/duckstore-escape.csv'",
    "COPY \"in.c-v\".\"t\" TO '/tmp/duckstore-escape.csv'",
    "COPY \"in.c-v\".\"t\" FROM '/etc/passwd'",
    "COPY \"in.c-v\".\"t\" TO PROGRAM 'id'",
    "ATTACH '/tmp/duckstore-escape.duckdb' AS x",
    "ATTACH ':memory:' AS x",
    "DETACH t1v1",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs FROM 'http://example.com'",
    "PRAGMA database_list",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "SET memory_limit = '100GB'",
    "SET threads = 64",
    "RESET lock_configuration",
    "CREATE SECRET s (TYPE s3)",
    "EXPORT DATABASE '/tmp/duckstore-escape'",
    "IMPORT DATABASE '/tmp'",
    "CHECKPOINT",
    "USE t1v1",
    "CREATE MACRO evil(x) AS x",
    "CREATE VIEW v AS SELECT 1",
    "CALL pragma_version()",
    "SELECT * FROM pragma_table_info('t1v1.main.data')",
    "SELECT * FROM t1v1.main.data",
];

#[tokio::test]
async fn the_gateway_and_the_sandbox_refuse_escapes() {
    let server = TestServer::start().await;
    let v = victim(&server).await;
    let owner = server.connect(&v.user, &v.token).await;
    let ws = server.try_connect(&v.workspace_user, &v.workspace_password, &v.workspace_user).await.unwrap();
    let mut tried = 0;
    let mut refused = 0;
    for sql in ESCAPES {
        tried += 1;
        let err = owner.simple_query(sql).await.expect_err(sql);
        let state = sqlstate(&err);
        assert!(
            ["42501", "0A000", "42601", "42883", "42P01", "3F000", "22023", "42704"].contains(&state.as_str()),
            "{sql}: {state} {err:?}"
        );
        refused += 1;
        assert!(owner.simple_query("SELECT 1").await.is_ok());
    }
    // the workspace may run any DuckDB SQL on its own objects; the escapes out of it fail
    for sql in ESCAPES.iter().filter(|s| {
        !s.starts_with("CREATE MACRO")
            && !s.starts_with("CREATE VIEW")
            && !s.starts_with("CHECKPOINT")
            && !s.starts_with("ATTACH ':memory:'")
            && !s.starts_with("CALL pragma_version")
            && !s.contains("duckdb_settings")
            && !s.contains("duckdb_databases")
            && !s.contains("duckdb_extensions")
            && !s.contains("PRAGMA database_list")
            && !s.contains("current_setting")
            && !s.contains("getenv")
    }) {
        tried += 1;
        match ws.simple_query(sql).await {
            Ok(_) if sql.starts_with("SELECT * FROM glob") => refused += 1, // answers nothing: no file system
            Ok(_) => panic!("workspace ran {sql}"),
            Err(err) => {
                assert!(!["", "XX000"].contains(&sqlstate(&err).as_str()), "{sql}: {err}");
                refused += 1;
            }
        }
        assert!(ws.simple_query("SELECT 1").await.is_ok());
    }
    // getenv answers nothing of the host inside the sandbox
    if let Ok(home) = ws.simple_query("SELECT coalesce(getenv('HOME'), '')").await {
        let leaked =
            home.iter().any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0).is_some_and(|h| !h.is_empty())));
        assert!(!leaked, "getenv leaks the host environment");
    }
    assert!(!std::path::Path::new("/tmp/duckstore-escape.csv").exists());
    assert!(!std::path::Path::new("/tmp/duckstore-escape").exists());
    println!("security: gateway and sandbox escapes: tried {tried}, refused {refused}");
    server.stop().await;
}

/// The engine aliases (`t<id>v<version>`) of a project's table files, read off the disk: what an
/// attacker who guesses ids would aim at.
fn engine_aliases(server: &TestServer, project: i64) -> Vec<String> {
    let mut out = Vec::new();
    let root = server.data_dir.join("tables").join(project.to_string());
    let Ok(branches) = std::fs::read_dir(&root) else { return out };
    for branch in branches.flatten() {
        for table in std::fs::read_dir(branch.path()).into_iter().flatten().flatten() {
            let t = table.file_name().to_string_lossy().into_owned();
            for version in std::fs::read_dir(table.path()).into_iter().flatten().flatten() {
                let name = version.file_name().to_string_lossy().into_owned();
                if let Some(v) = name.strip_prefix('v').and_then(|n| n.strip_suffix(".duckdb")) {
                    out.push(format!("{t}v{v}"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Statements sqlparser and DuckDB read differently, and their relatives (issue 15): text
/// whose tail DuckDB reads as another statement, a dollar-quote tag DuckDB reads as a
/// parameter, escaped strings and identifiers whose re-rendering would close early, CTE names
/// out of scope, writes inside a WITH, DuckDB's own catalog. Each aims at the victim's table
/// files by their engine aliases.
fn differentials(alias: &str, files_dir: &str) -> Vec<String> {
    let t = format!("\"{alias}\".main.data");
    vec![
        format!("SELECT 1 %/* E'\\x2a/ 2 AS a; SELECT name, w: 4 FROM {t} --' AS c"),
        format!("SELECT 1 %/* E'\\x2a/ 2 AS a; SELECT *, w: 4 FROM {t} --' AS c"),
        format!("SELECT 1 %/* E'\\x2a/ 2 AS a; INSERT INTO {t} (id) VALUES (7777); CHECKPOINT; --' AS c"),
        format!("SELECT 1 %/* E'\\x2a/ 2 AS a; COPY (SELECT 1) TO '{files_dir}/1/1'; --' AS c"),
        format!("SELECT $1x$, * FROM {t} LIMIT 3 --$1x$ AS s, $1::int AS p"),
        format!("SELECT $1x$, * FROM {t} WHERE name LIKE 'SECRET%' --$1x$ AS s, $1::int AS p"),
        format!("SELECT $1x$, read_text('{files_dir}/1/1') --$1x$ AS s, $1::int AS p"),
        format!("SELECT $a$x$a$, * FROM {t}"),
        format!("SELECT $$ $$, * FROM {t}"),
        format!("SELECT E'\\'' || (SELECT max(name) FROM {t})"),
        format!("SELECT E'a\\\\'' , 1 FROM {t} --'"),
        format!("SELECT E'\\\\' AS x, (SELECT max(name) FROM {t}) --'"),
        format!("SELECT 'a\\' AS x, (SELECT max(name) FROM {t}) --'"),
        format!("SELECT 1 AS \"a\\\"\", (SELECT max(name) FROM {t}) --\""),
        format!("SELECT U&'\\0027' || (SELECT max(name) FROM {t})"),
        format!("SELECT /* */ * FROM {t}"),
        format!("SELECT 1 /* /* nested */ ; SELECT * FROM {t} */"),
        format!("SELECT 1 -- \n; SELECT * FROM {t}"),
        format!("SELECT 1; SELECT * FROM {t}"),
        format!("SELECT (SELECT max(name) FROM {t})"),
        format!("SELECT * FROM {alias}.data"),
        format!("SELECT * FROM \"{alias}\".data"),
        format!("SELECT * FROM {alias}.main.data"),
        format!("WITH x AS (SELECT 1) INSERT INTO {t} VALUES (7, 'x')"),
        format!("WITH x AS (SELECT 1) DELETE FROM {t}"),
        format!("SELECT * FROM (WITH {alias} AS (SELECT 1) SELECT 1) s, {t}"),
        "SELECT * FROM (WITH sqlite_master AS (SELECT 1) SELECT 1) s, sqlite_master".into(),
        "WITH duckdb_tables AS (SELECT 1) SELECT * FROM (SELECT * FROM duckdb_tables) a, (SELECT 1) b".into(),
        "SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) s, (WITH y AS (SELECT 2) SELECT * FROM x) z".into(),
        "SELECT * FROM sqlite_master".into(),
        "SELECT * FROM duckdb_tables()".into(),
        "SELECT * FROM duckdb_databases()".into(),
        "SELECT * FROM main.duckdb_tables()".into(),
        "SELECT * FROM pragma_database_list()".into(),
        "SELECT * FROM pg_settings".into(),
        "SELECT * FROM pg_catalog.pg_settings".into(),
        "SELECT * FROM information_schema.schemata".into(),
        format!("SELECT * FROM information_schema.columns WHERE table_catalog = '{alias}'"),
        "SELECT current_setting('allowed_directories')".into(),
        "SELECT getvariable('x')".into(),
        format!("SELECT * FROM query('SELECT * FROM {t}')"),
        format!("SELECT * FROM query_table('{alias}.main.data')"),
        format!("SELECT a: (SELECT max(name) FROM {t})"),
        format!("SELECT list_transform([1], x -> (SELECT max(name) FROM {t}))"),
        format!("SELECT * FROM {t} AT (VERSION => 1)"),
        format!("SELECT * FROM (DESCRIBE {t})"),
        format!("SELECT * FROM (SHOW TABLES)"),
        format!("SELECT * FROM read_text('{files_dir}/1/1')"),
        format!("SELECT * FROM glob('{files_dir}/*')"),
        format!("SELECT * FROM '{files_dir}/1/1'"),
        format!("EXPLAIN ANALYZE SELECT * FROM {t}"),
        format!("SELECT 1 OPERATOR(pg_catalog.+) (SELECT count(*) FROM {t})"),
        format!("SELECT 1 <-> (SELECT count(*) FROM {t})"),
        format!("SELECT 1 !! 2, (SELECT count(*) FROM {t})"),
        format!("SELECT CAST(1 AS x(1 FROM {t}))"),
        format!("SELECT 0x{alias}"),
        format!("SELECT * FROM \"__duckstore_table_0\", {t}"),
        format!("SELECT * FROM __cte_0, {t}"),
        format!("SELECT * FROM duckstore_relation(1), {t}"),
    ]
}

/// Every file under `dir` with its content.
fn tree(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(tree(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
        }
    }
    out.sort();
    out
}

/// Whether an answered value shows what only the victim's storage holds: its secret row, its
/// tables' DDL (DuckDB's catalog), its uploaded file's content. (Statements echo aliases and
/// paths back in their own literals, so those prove nothing.)
fn leaked(value: &str) -> bool {
    value.contains("SECRET-c0ffee") || value.contains("CREATE TABLE") || value.contains("id,name")
}

fn leaks(messages: &[SimpleQueryMessage]) -> bool {
    messages.iter().any(|m| match m {
        SimpleQueryMessage::Row(r) => (0..r.len()).any(|i| r.get(i).is_some_and(leaked)),
        _ => false,
    })
}

#[tokio::test]
async fn parser_differentials_reach_no_other_project() {
    let server = TestServer::start().await;
    let v = victim(&server).await;
    let owner = server.connect(&v.user, &v.token).await;
    owner.batch_execute(r#"INSERT INTO "in.c-v"."t" VALUES (1000, 'SECRET-c0ffee')"#).await.unwrap();
    let before = fingerprint(&server, &v).await;
    let files_before = tree(&server.data_dir.join("files"));

    // the attacker: another project's branch_read token and its project_admin token
    let (_, admin_user, admin_token) = server.project("attacker").await;
    let attacker_admin = server.connect(&admin_user, &admin_token).await;
    attacker_admin.batch_execute(r#"CREATE SCHEMA "in.c-a"; CREATE TABLE "in.c-a"."x" (id INTEGER)"#).await.unwrap();
    let reader = attacker_admin.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap();
    let (reader_user, reader_token): (String, String) = (reader.get("user_name"), reader.get("token"));
    let sessions = [server.connect(&reader_user, &reader_token).await, server.connect(&admin_user, &admin_token).await];

    let aliases = engine_aliases(&server, v.project);
    assert!(!aliases.is_empty(), "the victim has table files");
    let files_dir = server.data_dir.canonicalize().unwrap().join("files").to_string_lossy().into_owned();
    let (mut tried, mut refused, mut answered) = (0, 0, 0);
    for alias in &aliases {
        for sql in differentials(alias, &files_dir) {
            for client in &sessions {
                tried += 1;
                match client.simple_query(&sql).await {
                    Ok(messages) => {
                        assert!(!leaks(&messages), "{sql} showed the victim's data or internals");
                        answered += 1;
                    }
                    Err(e) => {
                        let state = sqlstate(&e);
                        assert!(!state.is_empty() && state != "XX000", "{sql}: {state} {e:?}");
                        assert!(!e.to_string().contains(alias.as_str()), "{sql}: the error names {alias}: {e}");
                        refused += 1;
                    }
                }
                // the extended protocol, with one bound parameter where the text has one
                tried += 1;
                let extended = if sql.contains("$1") {
                    client.query_typed(sql.as_str(), &[(&1i32, tokio_postgres::types::Type::INT4)]).await
                } else {
                    client.query(sql.as_str(), &[]).await
                };
                match extended {
                    Ok(rows) => {
                        let shown = rows.iter().any(|r| {
                            (0..r.len())
                                .any(|i| r.try_get::<_, Option<String>>(i).ok().flatten().is_some_and(|s| leaked(&s)))
                        });
                        assert!(!shown, "{sql} (extended) showed the victim's data or internals");
                        answered += 1;
                    }
                    Err(e) => {
                        // A client-side error (rows the server had not described) means rows left.
                        let state = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
                        assert!(!state.is_empty() && state != "XX000", "{sql} (extended): {e:?}");
                        refused += 1;
                    }
                }
                assert!(client.simple_query("SELECT 1").await.is_ok(), "the session survives {sql}");
            }
        }
    }
    assert_same(&before, &fingerprint(&server, &v).await, "parser differentials");
    assert_eq!(files_before, tree(&server.data_dir.join("files")), "uploaded files changed");
    let victim_reads = rows(&owner, r#"SELECT count(*) FROM "in.c-v"."t" WHERE name = 'SECRET-c0ffee'"#).await;
    assert_eq!(victim_reads, vec![vec![Some("1".to_owned())]]);
    println!("security: parser differentials: tried {tried}, refused {refused}, answered harmlessly {answered}");
    server.stop().await;
}

/// Whether text shows an engine alias (`t<id>v<version>`).
fn shows_alias(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| {
        let start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !start || bytes[i] != b't' {
            return false;
        }
        let d1 = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        let at = i + 1 + d1;
        d1 > 0 && bytes.get(at) == Some(&b'v') && bytes[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count() > 0
    })
}

#[tokio::test]
async fn explain_and_errors_show_no_engine_internals() {
    let server = TestServer::start().await;
    let v = victim(&server).await;
    let owner = server.connect(&v.user, &v.token).await;
    let mut shown = String::new();
    for sql in [
        r#"EXPLAIN SELECT * FROM "in.c-v"."t" WHERE id = 1"#,
        r#"EXPLAIN ANALYZE SELECT * FROM "in.c-v"."t" WHERE id < 50"#,
        r#"EXPLAIN SELECT * FROM "in.c-v"."vw""#,
        r#"EXPLAIN ANALYZE SELECT * FROM "in.c-v"."t" JOIN pg_class ON relname = name"#,
    ] {
        for m in owner.simple_query(sql).await.unwrap() {
            if let SimpleQueryMessage::Row(r) = m {
                for i in 0..r.len() {
                    shown.push_str(r.get(i).unwrap_or(""));
                    shown.push('\n');
                }
            }
        }
    }
    assert!(!shows_alias(&shown), "EXPLAIN shows an engine alias:\n{shown}");
    for internal in ["EXCLUDE", "_timestamp", "__duckstore", "__cte_", "duckstore_stream", "/tables/"] {
        assert!(!shown.contains(internal), "EXPLAIN shows {internal}:\n{shown}");
    }
    assert!(!shown.to_ascii_lowercase().contains("duckstore_"), "EXPLAIN shows an engine function:\n{shown}");
    // a write may read the catalog views like any query (found by the attacker review: it was
    // refused with a message naming the engine's relation function)
    owner
        .batch_execute(
            r#"INSERT INTO "in.c-v"."t" (id, name) SELECT 4242, (SELECT relname FROM pg_class WHERE relname = 't' LIMIT 1);
               UPDATE "in.c-v"."t" SET name = (SELECT setting FROM pg_settings WHERE name = 'server_version_num') WHERE id = 4242"#,
        )
        .await
        .expect("writes read catalog views");
    assert!(shown.contains("SEQ_SCAN") || shown.contains("TABLE_SCAN"), "{shown}");
    assert!(shown.contains("\"in.c-v\".\"t\"") || shown.contains("table"), "{shown}");
    // errors name the client's objects, never the engine's
    for sql in [
        r#"SELECT nope FROM "in.c-v"."t""#,
        r#"SELECT * FROM "in.c-v"."t" WHERE name + 1 > 0"#,
        r#"WITH x AS (SELECT 1 AS a) SELECT b FROM x"#,
        r#"INSERT INTO "in.c-v"."t" (id, name) VALUES ('x', 'y')"#,
        r#"UPDATE "in.c-v"."t" SET name = nope"#,
        r#"SELECT * FROM "in.c-v"."vw" WHERE nope = 1"#,
    ] {
        let err = owner.simple_query(sql).await.expect_err(sql);
        let text = format!("{err:?}");
        assert!(!shows_alias(&text), "{sql}: {text}");
        for internal in ["EXCLUDE", "__duckstore", "__cte_", "/tables/", "main.data"] {
            assert!(!text.contains(internal), "{sql} shows {internal}: {text}");
        }
    }
    server.stop().await;
}

/// Shapes whose trees nest as deep as the text is long, at sizes around the gateway's bound and
/// far past it.
fn deep_shapes() -> Vec<String> {
    let mut shapes = Vec::new();
    for n in [1_000, 3_900, 4_100, 20_000] {
        shapes.push(format!("SELECT 1{}", " UNION ALL SELECT 1".repeat(n / 4)));
        shapes.push(format!("SELECT 1{}", " + 1".repeat(n)));
        shapes.push(format!("SELECT 1{}", "::int".repeat(n)));
        shapes.push(format!("SELECT {}1", "- ".repeat(n)));
        shapes.push(format!("SELECT {}1{}", "abs(".repeat(n), ")".repeat(n)));
        shapes.push(format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n)));
        shapes.push(format!("SELECT {}1{}", "[".repeat(n), "]".repeat(n)));
        shapes.push(format!("SELECT {}1 END", "CASE WHEN true THEN ".repeat(n)));
        shapes.push(format!("SELECT 1 FROM {}SELECT 1{} s", "(".repeat(n), ") s".repeat(n)));
        shapes.push(format!("SELECT x FROM (VALUES (1)) t(x) WHERE x = 1{}", " OR x = 1".repeat(n)));
    }
    shapes.push(format!("SELECT true{}", " AND true".repeat(100_000)));
    shapes
}

#[tokio::test]
async fn no_statement_aborts_the_server() {
    let server = TestServer::start().await;
    let (_, bystander_user, bystander_token) = server.project("bystander").await;
    let bystander = server.connect(&bystander_user, &bystander_token).await;
    let (_, user, token) = server.project("attacker").await;
    let storage = server.connect(&user, &token).await;
    let ws = storage.query_one("CALL create_workspace(name => 'deep')", &[]).await.unwrap();
    let (ws_user, ws_password): (String, String) = (ws.get("user"), ws.get("password"));
    let workspace = server.try_connect(&ws_user, &ws_password, &ws_user).await.unwrap();
    let (mut tried, mut answered, mut too_deep) = (0, 0, 0);
    for sql in deep_shapes() {
        for (session, client) in [("storage", &storage), ("workspace", &workspace)] {
            for extended in [false, true] {
                tried += 1;
                let outcome = if extended {
                    client.query(sql.as_str(), &[]).await.map(|_| ())
                } else {
                    client.simple_query(&sql).await.map(|_| ())
                };
                match outcome {
                    Ok(()) => answered += 1,
                    Err(e) => {
                        let state = sqlstate(&e);
                        assert!(!state.is_empty() && state != "XX000", "{session} {}…: {e:?}", &sql[..40]);
                        too_deep += usize::from(state == "54001");
                    }
                }
                assert!(
                    client.simple_query("SELECT 1").await.is_ok(),
                    "the {session} session survives {}…",
                    &sql[..40]
                );
            }
        }
        assert!(bystander.simple_query("SELECT 1").await.is_ok(), "another project is served after {}…", &sql[..40]);
    }
    assert!(server.try_connect(&bystander_user, &bystander_token, "main").await.is_ok(), "logins still work");
    println!("deep statements: {tried} tried, {answered} answered, {too_deep} refused as 54001, 0 aborts");
    assert!(too_deep > 0 && answered > 0);
}

/// DuckDB does not count the strings a statement builds against an instance's memory limit:
/// `repeat`, `lpad` and `rpad` are bounded before the engine builds their values, in both
/// session kinds (one `repeat('x', 200000000)` over a few rows took the machine's memory).
#[tokio::test]
async fn built_texts_are_bounded_before_the_engine_builds_them() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("builder").await;
    let client = server.connect(&user, &token).await;
    let ws = client.query_one("CALL create_workspace(name => 'w')", &[]).await.unwrap();
    let (ws_user, ws_password): (String, String) = (ws.get("user"), ws.get("password"));
    let workspace = server.try_connect(&ws_user, &ws_password, &ws_user).await.unwrap();
    for c in [&client, &workspace] {
        for sql in [
            "SELECT length(repeat('x', 200000000) || 'y')",
            "SELECT max(length(repeat('ab', 100000) || i::varchar)) FROM range(250) t(i)",
            "SELECT length(lpad('x', 100000000))",
            "SELECT length(rpad('x', 100000000, 'yz'))",
        ] {
            let e = c.simple_query(sql).await.unwrap_err();
            assert_eq!(sqlstate(&e), "54000", "{sql}: {e:?}");
        }
        // a select list's series streams when the query has no FROM (the engine's list of it
        // was built whole: 9 GB for 100 million); with FROM, a long one is refused
        let rows = c.query_one("SELECT count(*) FROM (SELECT generate_series(1, 20000000) AS g) s", &[]).await.unwrap();
        assert_eq!(rows.get::<_, i64>(0), 20_000_000);
        let e = c.simple_query("SELECT generate_series(1, 100000000) FROM range(3) t(i)").await.unwrap_err();
        assert_eq!(sqlstate(&e), "54000", "{e:?}");
        let series = c.query("SELECT generate_series(1, 3), 'x' AS k", &[]).await.unwrap();
        assert_eq!(series.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [1, 2, 3]);
        // rewrites nested in themselves stay linear in what the engine binds (a copied operand
        // made nine levels of concat() take 14 s): five levels of each answer, twenty answer or
        // are refused as too deep (54001; the statement the gateway reads back nests deeper than
        // the client's), never run on
        for call in ["concat(X, 'b')", "repeat(X, 1)", "lpad(X, 1)", "format('%1$s%1$s', X)", "substring(X, 1, 1)"] {
            for depth in [5, 20] {
                let mut sql = "'a'".to_owned();
                for _ in 0..depth {
                    sql = call.replace('X', &sql);
                }
                let query = format!("SELECT length({sql})");
                let answered = tokio::time::timeout(std::time::Duration::from_secs(60), c.simple_query(&query)).await;
                let ok = match &answered {
                    Ok(Ok(_)) => true,
                    Ok(Err(e)) => depth == 20 && sqlstate(e) == "54001",
                    Err(_) => false,
                };
                assert!(ok, "{call} × {depth}: {answered:?}");
            }
        }
        // within the bound, PostgreSQL's answers
        let row =
            c.query_one("SELECT length(repeat('x', 65536)), lpad('x', 3), rpad('x', 3, 'yz')", &[]).await.unwrap();
        assert_eq!(
            (row.get::<_, i32>(0), row.get::<_, String>(1), row.get::<_, String>(2)),
            (65536, "  x".into(), "xyz".into())
        );
    }
    server.stop().await;
}

/// DuckDB copies parts of a statement (a simple CASE's operand into every arm, a macro's
/// argument wherever its body names it, a BETWEEN's operand, a select alias into later items);
/// nested, the copies multiply. A 19-deep simple CASE took 14 GB in DuckDB's parser, two nested
/// `to_regtype` planned for 10 s past `statement_timeout`. Such statements are refused (54001)
/// before DuckDB builds them, in both session kinds; shallow ones answer.
#[tokio::test]
async fn statements_duckdb_would_multiply_are_refused_before_it_builds_them() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("copier").await;
    let storage = server.connect(&user, &token).await;
    let ws = storage.query_one("CALL create_workspace(name => 'w')", &[]).await.unwrap();
    let (ws_user, ws_password): (String, String) = (ws.get("user"), ws.get("password"));
    let workspace = server.try_connect(&ws_user, &ws_password, &ws_user).await.unwrap();
    let nested = |n: usize, open: &str, close: &str| format!("SELECT {}1{}", open.repeat(n), close.repeat(n));
    let aliases = |n: usize| {
        format!("SELECT 1 AS a0{}", (1..=n).map(|i| format!(", a{0} + a{0} AS a{i}", i - 1)).collect::<String>())
    };
    let fields = |n: usize| (0..n * 10).map(|i| format!("'f{i}': {i}")).collect::<Vec<_>>().join(", ");
    let shapes = |n: usize| {
        vec![
            nested(n, "CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END"),
            // (what DuckDB's scanner reads as code: after `--\r`, between Unicode spaces)
            format!("SELECT 1 --\r, {}", &nested(n, "CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END")[7..]),
            nested(n, "CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END").replace(' ', "\u{a0}"),
            format!("SELECT unnest({{{}}})", fields(n)),
            nested(n, "nullif(", ", 2)"),
            nested(n, "((", " BETWEEN 0 AND 5)::int)"),
            format!("SELECT (1){}", ".nullif(2)".repeat(n)),
            aliases(n),
        ]
    };
    for (session, client) in [("storage", &storage), ("workspace", &workspace)] {
        for sql in shapes(24) {
            let answer = tokio::time::timeout(std::time::Duration::from_secs(60), client.simple_query(&sql)).await;
            match answer {
                Ok(Err(e)) => assert_eq!(sqlstate(&e), "54001", "{session} {}…: {e:?}", &sql[..40]),
                // (a storage session's statement is the gateway's rendering of what it parsed:
                // sqlparser's comment ends at `\n`, and what it hid never reaches the engine)
                Ok(Ok(_)) if session == "storage" && sql.contains("--\r") => {}
                other => panic!("{session} {}… was not refused: {other:?}", &sql[..40]),
            }
        }
        for sql in shapes(3) {
            // (storage sessions refuse what PostgreSQL would: `x.nullif(2)`, select aliases,
            // Unicode spaces, struct literals)
            if let Err(e) = client.simple_query(&sql).await {
                assert!(session == "storage" && sqlstate(&e) != "54001", "{session} {sql}: {e:?}");
            }
        }
        // a report whose set operation's branches name a long CASE alike is not a copy of it
        let bucket =
            format!("CASE {} END AS bucket", (0..60).map(|i| format!("WHEN g < {i} THEN 'b{i}' ")).collect::<String>());
        let union = format!(
            "SELECT 'src0' AS src, {bucket} FROM generate_series(1, 3) AS t(g){} ORDER BY src",
            (1..30).map(|i| format!(" UNION ALL SELECT 'src{i}' AS src, 'x' AS bucket FROM generate_series(1, 2) AS t(bucket) WHERE bucket IS NOT NULL")).collect::<String>()
        );
        assert!(client.simple_query(&union).await.is_ok(), "{session}: {union}");
        // the server's own macros copy nothing: to_regtype nests
        let regtype = if session == "workspace" {
            "SELECT to_regtype(to_regtype(to_regtype('int4')::text)::text)"
        } else {
            "SELECT format_type(23, NULL), format_type(1700, 655366)"
        };
        let answer = tokio::time::timeout(std::time::Duration::from_secs(60), client.simple_query(regtype)).await;
        assert!(matches!(answer, Ok(Ok(_))), "{session} {regtype}: {answer:?}");
        assert!(client.simple_query("SELECT 1").await.is_ok(), "the {session} session survives");
    }
    // A workspace binds a view's query anew wherever a statement names it: a chain of views
    // each naming the one before twice doubles at every link (18 links took 5 s and 500 MB).
    // The chain stops where its next link would pass the bound; a temporary view counts too.
    workspace.simple_query("CREATE VIEW v0 AS SELECT 1 AS x").await.unwrap();
    let mut refused_at = None;
    for i in 1..=30 {
        let link = format!("CREATE VIEW v{i} AS SELECT a.x + b.x AS x FROM v{0} a, v{0} b", i - 1);
        match workspace.simple_query(&link).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(sqlstate(&e), "54001", "{link}: {e:?}");
                refused_at = Some(i);
                break;
            }
        }
    }
    let refused_at = refused_at.expect("the chain is stopped");
    assert!((8..=12).contains(&refused_at), "refused at link {refused_at}");
    let last = refused_at - 1;
    let rows = workspace.simple_query(&format!("SELECT x FROM v{last}")).await.unwrap();
    assert!(
        matches!(&rows[1], tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some(&(1u64 << last).to_string()[..]))
    );
    let temp = format!("CREATE TEMP VIEW t0 AS SELECT a.x FROM v{last} a, v{last} b, v{last} c, v{last} d");
    let many =
        workspace.simple_query(&temp).await.map(|_| ()).and(
            workspace.simple_query("SELECT * FROM t0 a, t0 b, t0 c, t0 d, t0 e, t0 f, t0 g, t0 h").await.map(|_| ()),
        );
    assert_eq!(many.as_ref().err().map(sqlstate).as_deref(), Some("54001"), "{many:?}");
    // (attacker review 2) `t.end` is a column, not a CASE's end; `*` over a wide table is its
    // columns; a PIVOT's columns are bounded
    let mut hidden = "1".to_owned();
    for _ in 0..20 {
        hidden = format!("(CASE {hidden} || t.end WHEN 1 THEN 1 WHEN 2 THEN 2 END)");
    }
    let e = workspace.simple_query(&format!("SELECT {hidden} FROM (SELECT 1 AS \"end\") t")).await.unwrap_err();
    assert_eq!(sqlstate(&e), "54001", "{e:?}");
    let columns = (0..1000).map(|i| format!("c{i} INT")).collect::<Vec<_>>().join(", ");
    workspace.simple_query(&format!("CREATE TABLE wide_probe ({columns})")).await.unwrap();
    let stars = format!("SELECT {} FROM wide_probe", vec!["*"; 100].join(", "));
    let e = workspace.simple_query(&stars).await.unwrap_err();
    assert_eq!(sqlstate(&e), "54001", "{e:?}");
    let values = (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let pivot = format!(
        "PIVOT (SELECT 1 AS a, 1 AS b, 1 AS c, 1 AS v) ON a IN ({values}), b IN ({values}), c IN ({values}) USING sum(v)"
    );
    let answer = tokio::time::timeout(std::time::Duration::from_secs(60), workspace.simple_query(&pivot)).await;
    assert!(matches!(answer, Ok(Err(_))), "{answer:?}");
    // `name: expr` names an item as `AS` does, in a statement DuckDB does not serialize too
    let prefixed =
        format!("SELECT a0: 1{}", (1..=24).map(|i| format!(", a{i}: a{0} + a{0}", i - 1)).collect::<String>());
    let e = workspace.simple_query(&format!("CREATE TABLE pa AS {prefixed}")).await.unwrap_err();
    assert_eq!(sqlstate(&e), "54001", "{e:?}");
    // macros copy their arguments into every call: a workspace cannot create them
    for sql in [
        "CREATE MACRO m(x) AS x + x",
        "create or replace temp function f(x) as x",
        "/* c */ CREATE MACRO t() AS TABLE SELECT 1",
        "CREATE --\r MACRO m1(a) AS a + a",
        "CREATE\u{a0}TEMP\u{a0}MACRO m2(a) AS a + a",
    ] {
        let e = workspace.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&e), "0A000", "{sql}: {e:?}");
    }
    server.stop().await;
}
