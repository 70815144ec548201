//! Writes in bulk as users make them: files on the sidecar, COPY over the wire (tokio-postgres
//! and psql's \copy), import_table / create_table_from_file / export_table, async jobs.

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{TestServer, message, sqlstate};

struct Project {
    user: String,
    token: String,
    client: tokio_postgres::Client,
}

async fn project(server: &TestServer, name: &str) -> Project {
    let (_, user, token) = server.project(name).await;
    let client = server.connect(&user, &token).await;
    client.batch_execute(r#"CREATE SCHEMA "in.c-sales""#).await.unwrap();
    Project { user, token, client }
}

fn http(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.http_addr)
}

async fn upload(server: &TestServer, token: &str, name: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    reqwest::Client::new()
        .post(http(server, &format!("/v1/files?name={name}")))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn upload_id(server: &TestServer, token: &str, name: &str, body: impl Into<reqwest::Body>) -> i64 {
    let response = upload(server, token, name, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn download(server: &TestServer, token: &str, id: i64) -> Bytes {
    let response = reqwest::Client::new()
        .get(http(server, &format!("/v1/files/{id}/content")))
        .header("X-StorageApi-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
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

#[tokio::test]
async fn files_upload_list_download_and_delete() {
    let server = TestServer::start().await;
    let p = project(&server, "files").await;
    let content = b"id,name\n1,alpha\n2,beta\n".to_vec();
    let response = reqwest::Client::new()
        .post(http(&server, "/v1/files?name=orders.csv&tags=daily,raw"))
        .bearer_auth(&p.token)
        .query(&[("sha256", sha256_hex(&content))])
        .body(content.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["name"], "orders.csv");
    assert_eq!(file["size"], content.len());
    assert_eq!(file["sha256"], sha256_hex(&content));
    assert_eq!(file["tags"], serde_json::json!(["daily", "raw"]));
    let id = file["id"].as_i64().unwrap();

    // multipart, the other upload form
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"x\n1\n".to_vec()).file_name("other.csv"));
    let response = reqwest::Client::new()
        .post(http(&server, "/v1/files"))
        .bearer_auth(&p.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let other: Value = response.json().await.unwrap();
    assert_eq!((other["name"].as_str(), other["size"].as_i64()), (Some("other.csv"), Some(4)));

    // list, newest first, and by tag
    let client = reqwest::Client::new();
    let list: Vec<Value> =
        client.get(http(&server, "/v1/files")).bearer_auth(&p.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "other.csv");
    let tagged: Vec<Value> = client
        .get(http(&server, "/v1/files?tags=daily"))
        .bearer_auth(&p.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["id"], id);

    // content, whole and ranged
    assert_eq!(download(&server, &p.token, id).await, content);
    let ranged = client
        .get(http(&server, &format!("/v1/files/{id}/content")))
        .bearer_auth(&p.token)
        .header("Range", "bytes=3-9")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.headers()["content-range"], format!("bytes 3-9/{}", content.len()));
    assert_eq!(ranged.bytes().await.unwrap(), &content[3..=9]);
    let beyond = client
        .get(http(&server, &format!("/v1/files/{id}/content")))
        .bearer_auth(&p.token)
        .header("Range", "bytes=500-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // a wrong declared checksum leaves no file behind
    let response = client
        .post(http(&server, "/v1/files?name=bad.csv&sha256=00ff"))
        .bearer_auth(&p.token)
        .body("a,b\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("sha256"), "{body}");
    let names: Vec<String> = rows(&p.client, "SELECT name FROM duckstore.files ORDER BY id")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(names, ["orders.csv", "other.csv"]);

    // no token, a wrong token, another project's token, a read-only token
    let response = client.get(http(&server, "/v1/files")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = client.get(http(&server, "/v1/files")).bearer_auth("1-nope-nope").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let stranger = project(&server, "stranger").await;
    let response = client
        .get(http(&server, &format!("/v1/files/{id}/content")))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response =
        client.delete(http(&server, &format!("/v1/files/{id}"))).bearer_auth(&stranger.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let reader: String =
        p.client.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap().get("token");
    assert_eq!(download(&server, &reader, id).await, content, "a read-only token downloads");
    assert_eq!(upload(&server, &reader, "x.csv", "a\n").await.status(), StatusCode::FORBIDDEN);
    let response = client.delete(http(&server, &format!("/v1/files/{id}"))).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // delete
    let response = client.delete(http(&server, &format!("/v1/files/{id}"))).bearer_auth(&p.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = client.get(http(&server, &format!("/v1/files/{id}"))).bearer_auth(&p.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let on_disk: Vec<_> = std::fs::read_dir(server.data_dir.join("files").join("1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(on_disk, [other["id"].to_string()], "only the remaining file is on disk");
    server.stop().await;
}

#[tokio::test]
async fn file_size_limits_and_quotas_answer_413() {
    let server = TestServer::start_with(|c| {
        c.max_file_size = 1000;
        c.project_max_files = 2;
    })
    .await;
    let p = project(&server, "limits").await;
    let big = vec![b'x'; 1001];
    let response = upload(&server, &p.token, "big.csv", big.clone()).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // a body without a declared length is cut off at the limit too
    let chunks =
        futures::stream::iter(big.chunks(100).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>());
    let response = upload(&server, &p.token, "streamed.csv", reqwest::Body::wrap_stream(chunks)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    upload_id(&server, &p.token, "a.csv", "a\n").await;
    upload_id(&server, &p.token, "b.csv", "b\n").await;
    let response = upload(&server, &p.token, "c.csv", "c\n").await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("quota"), "{body}");
    // nothing half-written stays on disk
    let files = std::fs::read_dir(server.data_dir.join("files").join("1")).unwrap().count();
    assert_eq!(files, 2);
    server.stop().await;
}

async fn orders(p: &Project) {
    p.client
        .batch_execute(
            r#"CREATE TABLE "in.c-sales"."orders" (id INTEGER NOT NULL, customer STRING, amount NUMERIC(10,2), day DATE, PRIMARY KEY (id))"#,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn copy_from_stdin_loads_atomically_over_the_extended_protocol() {
    let server = TestServer::start().await;
    let p = project(&server, "copy").await;
    orders(&p).await;
    let sink = p
        .client
        .copy_in::<_, Bytes>(
            r#"COPY "in.c-sales"."orders" (id, customer, amount, day) FROM STDIN (FORMAT csv, HEADER)"#,
        )
        .await
        .unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"id,customer,amount,day\n1,Ann,10.50,2024-01-01\n2,\"Bob, Jr.\",")).await.unwrap();
    sink.send(Bytes::from_static(b"7,2024-01-02\n3,,,\n4,\"\",1.25,2024-02-29\n")).await.unwrap();
    let copied = sink.finish().await.unwrap();
    assert_eq!(copied, 4);
    let got =
        rows(&p.client, r#"SELECT id, customer, customer IS NULL, amount, day FROM "in.c-sales"."orders" ORDER BY id"#)
            .await;
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        vec![
            vec![s("1"), s("Ann"), s("f"), s("10.50"), s("2024-01-01")],
            vec![s("2"), s("Bob, Jr."), s("f"), s("7.00"), s("2024-01-02")],
            vec![s("3"), None, s("t"), None, None],
            vec![s("4"), s(""), s("f"), s("1.25"), s("2024-02-29")],
        ]
    );

    // a bad row fails the whole COPY, names its line, and leaves the table as it was
    let sink = p.client.copy_in::<_, Bytes>(r#"COPY "in.c-sales"."orders" FROM STDIN (FORMAT csv)"#).await.unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"10,Cy,1,2024-01-01\n11,Di,not-a-number,2024-01-01\n")).await.unwrap();
    let err = sink.finish().await.unwrap_err();
    assert_eq!(sqlstate(&err), "22P02", "{err}");
    assert!(message(&err).contains("line 2"), "{}", message(&err));
    // duplicate keys too (23505), within the data or against the table
    let sink = p.client.copy_in::<_, Bytes>(r#"COPY "in.c-sales"."orders" FROM STDIN (FORMAT csv)"#).await.unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"20,Ed,1,2024-01-01\n1,Again,1,2024-01-01\n")).await.unwrap();
    assert_eq!(sqlstate(&sink.finish().await.unwrap_err()), "23505");
    let count: i64 = p.client.query_one(r#"SELECT count(*) FROM "in.c-sales"."orders""#, &[]).await.unwrap().get(0);
    assert_eq!(count, 4);
    // the session goes on; COPY TO STDOUT streams rows back
    let out = p
        .client
        .copy_out(r#"COPY (SELECT id, customer FROM "in.c-sales"."orders" ORDER BY id) TO STDOUT (FORMAT csv, HEADER)"#)
        .await
        .unwrap();
    let chunks: Vec<Bytes> = out.map(|c| c.unwrap()).collect().await;
    assert_eq!(chunks.concat(), b"id,customer\n1,Ann\n2,\"Bob, Jr.\"\n3,\n4,\"\"\n");
    server.stop().await;
}

#[tokio::test]
async fn copy_is_refused_where_writes_are() {
    let server = TestServer::start().await;
    let p = project(&server, "guarded").await;
    orders(&p).await;
    let reader: String =
        p.client.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap().get("token");
    let reader_user = reader.rsplit_once('-').unwrap().0.to_owned();
    // tokio-postgres abandons its connection after a COPY that fails to start (it sends
    // CopyFail and a second Sync, as against PostgreSQL): a fresh connection for each refusal.
    let refused = |user: String, token: String, sql: &'static str| {
        let server = &server;
        async move {
            let client = server.connect(&user, &token).await;
            sqlstate(&client.copy_in::<_, Bytes>(sql).await.err().expect("refused"))
        }
    };
    assert_eq!(refused(reader_user.clone(), reader.clone(), r#"COPY "in.c-sales"."orders" FROM STDIN"#).await, "42501");
    assert_eq!(refused(p.user.clone(), p.token.clone(), r#"COPY "in.c-sales"."nope" FROM STDIN"#).await, "42P01");
    assert_eq!(
        refused(p.user.clone(), p.token.clone(), r#"COPY "in.c-sales"."orders" (nope) FROM STDIN"#).await,
        "42703"
    );
    // a read-only token may still copy rows out
    let ro = server.connect(&reader_user, &reader).await;
    let out: Vec<Bytes> =
        ro.copy_out(r#"COPY "in.c-sales"."orders" TO STDOUT"#).await.unwrap().map(|c| c.unwrap()).collect().await;
    assert!(out.is_empty());
    let err = p.client.simple_query(r#"COPY "in.c-sales"."orders" FROM '/etc/passwd'"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    p.client.simple_query("SELECT 1").await.unwrap();
    server.stop().await;
}

async fn psql(server: &TestServer, p: &Project, command: &str, stdin: Option<&str>) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("psql")
        .env("PGPASSWORD", &p.token)
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &server.pg_addr.port().to_string()])
        .args(["-U", &p.user, "-d", "main", "-c", command])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data.as_bytes()).await.unwrap();
    }
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn psql_copy_moves_csv_and_text_both_ways() {
    let server = TestServer::start().await;
    let p = project(&server, "psql").await;
    orders(&p).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("orders.csv");
    std::fs::write(&csv, "id,customer,amount,day\n1,Ann,10.50,2024-01-01\n2,\"multi\nline\",2.00,2024-01-02\n")
        .unwrap();
    let (ok, out, err) =
        psql(&server, &p, &format!(r#"\copy "in.c-sales"."orders" from '{}' csv header"#, csv.display()), None).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "COPY 2");
    // text format from stdin: tabs, \N for NULL, backslash escapes
    let (ok, out, err) = psql(
        &server,
        &p,
        r#"\copy "in.c-sales"."orders" from stdin"#,
        Some("3\tCy\\tTab\t\\N\t2024-03-01\n4\t\t1\t\\N\n\\.\n"),
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "COPY 2");
    let back = dir.path().join("back.txt");
    let (ok, _, err) = psql(
        &server,
        &p,
        &format!(r#"\copy (SELECT * FROM "in.c-sales"."orders" ORDER BY id) to '{}'"#, back.display()),
        None,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read_to_string(&back).unwrap(),
        "1\tAnn\t10.50\t2024-01-01\n2\tmulti\\nline\t2.00\t2024-01-02\n3\tCy\\tTab\t\\N\t2024-03-01\n4\t\t1.00\t\\N\n"
    );
    // what went out as text comes back in identically
    p.client.batch_execute(r#"TRUNCATE "in.c-sales"."orders""#).await.unwrap();
    let (ok, _, err) =
        psql(&server, &p, &format!(r#"\copy "in.c-sales"."orders" from '{}'"#, back.display()), None).await;
    assert!(ok, "{err}");
    let again = dir.path().join("again.txt");
    psql(
        &server,
        &p,
        &format!(r#"\copy (SELECT * FROM "in.c-sales"."orders" ORDER BY id) to '{}'"#, again.display()),
        None,
    )
    .await;
    assert_eq!(std::fs::read_to_string(&back).unwrap(), std::fs::read_to_string(&again).unwrap());
    // a bad line: psql shows the error and the line, the table keeps its rows
    let (ok, _, err) = psql(
        &server,
        &p,
        r#"\copy "in.c-sales"."orders" from stdin csv"#,
        Some("9,Zed,1,2024-01-01\n9,Dup,1,2024-01-01\n"),
    )
    .await;
    assert!(!ok && err.contains("duplicate key"), "{err}");
    let count: i64 = p.client.query_one(r#"SELECT count(*) FROM "in.c-sales"."orders""#, &[]).await.unwrap().get(0);
    assert_eq!(count, 4);
    server.stop().await;
}

#[tokio::test]
async fn import_table_matches_header_names_replaces_and_upserts() {
    let server = TestServer::start().await;
    let p = project(&server, "imports").await;
    orders(&p).await;
    // columns in another order than the table's; full load
    let id =
        upload_id(&server, &p.token, "a.csv", "day,amount,id,customer\n2024-01-01,1.5,1,Ann\n2024-01-02,2,2,Bob\n")
            .await;
    let row =
        p.client.query_one("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&id]).await.unwrap();
    assert_eq!((row.get::<_, i64>("imported_rows"), row.get::<_, i64>("table_rows")), (2, 2));
    assert!(row.get::<_, i64>("table_bytes") > 0);
    // a full load replaces everything at once
    let id = upload_id(&server, &p.token, "b.csv", "id,customer,amount,day\n7,Gil,7,2024-07-07\n").await;
    p.client.execute("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&id]).await.unwrap();
    assert_eq!(rows(&p.client, r#"SELECT id FROM "in.c-sales"."orders""#).await, vec![vec![Some("7".to_owned())]]);
    // incremental with a primary key: upsert, the last row of a key wins (Keboola's dedup)
    let id = upload_id(
        &server,
        &p.token,
        "c.csv",
        "id,customer,amount,day\n7,Gil2,7,2024-07-07\n8,Hal,8,2024-08-08\n8,Hal2,9,2024-08-09\n",
    )
    .await;
    let row = p
        .client
        .query_one("CALL import_table(table => 'in.c-sales.orders', file_id => $1, incremental => true)", &[&id])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("table_rows"), 2);
    assert_eq!(
        rows(&p.client, r#"SELECT id, customer, amount FROM "in.c-sales"."orders" ORDER BY id"#).await,
        vec![
            vec![Some("7".into()), Some("Gil2".into()), Some("7.00".into())],
            vec![Some("8".into()), Some("Hal2".into()), Some("9.00".into())],
        ]
    );
    // dedup => 'insert' keeps what is there; 'fail' refuses duplicates and changes nothing
    let id = upload_id(&server, &p.token, "d.csv", "id,customer\n7,Nope\n9,Ivy\n").await;
    p.client
        .execute(
            "CALL import_table(table => 'in.c-sales.orders', file_id => $1, incremental => true, dedup => 'insert')",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        rows(&p.client, r#"SELECT customer FROM "in.c-sales"."orders" ORDER BY id"#).await,
        vec![vec![Some("Gil2".into())], vec![Some("Hal2".into())], vec![Some("Ivy".into())]]
    );
    let err = p
        .client
        .execute(
            "CALL import_table(table => 'in.c-sales.orders', file_id => $1, incremental => true, dedup => 'fail')",
            &[&id],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "23505");
    // bad data names its line and leaves the table unchanged
    let id = upload_id(&server, &p.token, "e.csv", "id,amount\n10,1\n11,x\n").await;
    let err =
        p.client.execute("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22P02");
    assert!(message(&err).contains("line 3"), "{}", message(&err));
    let id = upload_id(&server, &p.token, "f.csv", "id,nope\n1,2\n").await;
    let err =
        p.client.execute("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42703");
    let id = upload_id(&server, &p.token, "g.csv", "customer\nNoKey\n").await;
    let err =
        p.client.execute("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23502");
    assert_eq!(rows(&p.client, r#"SELECT count(*) FROM "in.c-sales"."orders""#).await, vec![vec![Some("3".into())]]);
    // options: another delimiter and quote, no header, explicit columns, a NULL marker
    let id = upload_id(&server, &p.token, "h.csv", "12;'x;y';NA\n").await;
    p.client
        .execute(
            "CALL import_table(table => 'in.c-sales.orders', file_id => $1, incremental => true, delimiter => ';', \
             enclosure => '''', header => false, columns => 'id,customer,amount', null_string => 'NA')",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        rows(&p.client, r#"SELECT customer, amount IS NULL FROM "in.c-sales"."orders" WHERE id = 12"#).await,
        vec![vec![Some("x;y".into()), Some("t".into())]]
    );
    // gzip is recognised from the content
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"id,customer\n13,Zipped\n").unwrap();
    let id = upload_id(&server, &p.token, "i.csv.gz", gz.finish().unwrap()).await;
    p.client
        .execute("CALL import_table(table => 'in.c-sales.orders', file_id => $1, incremental => true)", &[&id])
        .await
        .unwrap();
    assert_eq!(
        rows(&p.client, r#"SELECT customer FROM "in.c-sales"."orders" WHERE id = 13"#).await,
        vec![vec![Some("Zipped".into())]]
    );
    // another project's file is not found; a read-only token cannot import
    let stranger = project(&server, "stranger").await;
    let theirs = upload_id(&server, &stranger.token, "s.csv", "id\n1\n").await;
    let err = p
        .client
        .execute("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&theirs])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "58P01", "{err}");
    let reader: String =
        p.client.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap().get("token");
    let ro = server.connect(reader.rsplit_once('-').unwrap().0, &reader).await;
    let err = ro.execute("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    server.stop().await;
}

#[tokio::test]
async fn export_then_import_gives_identical_data() {
    let server = TestServer::start().await;
    let p = project(&server, "roundtrip").await;
    orders(&p).await;
    p.client
        .batch_execute(
            r#"INSERT INTO "in.c-sales"."orders" VALUES (1, 'Ann', 1.5, '2024-01-01'), (2, 'Bob, "B"', NULL, NULL),
               (3, '', 3, '2024-03-03'), (4, 'Ünï ✓', 4.25, '2024-04-04')"#,
        )
        .await
        .unwrap();
    let original = rows(&p.client, r#"SELECT * FROM "in.c-sales"."orders" ORDER BY id"#).await;
    for (format, compression) in [("csv", "none"), ("csv", "gzip"), ("parquet", "none"), ("parquet", "zstd")] {
        let row = p
            .client
            .query_one(
                "CALL export_table(table => 'in.c-sales.orders', format => $1, compression => $2)",
                &[&format, &compression],
            )
            .await
            .unwrap();
        let file_id: i64 = row.get("file_id");
        assert_eq!(row.get::<_, i64>("rows"), 4);
        let bytes = download(&server, &p.token, file_id).await;
        assert_eq!(row.get::<_, String>("sha256"), sha256_hex(&bytes));
        if format == "csv" && compression == "none" {
            assert!(String::from_utf8_lossy(&bytes).starts_with("id,customer,amount,day\n"));
        }
        let copy = format!("copy_{format}_{compression}");
        p.client
            .batch_execute(&format!(
                r#"CREATE TABLE "in.c-sales"."{copy}" (id INTEGER NOT NULL, customer STRING, amount NUMERIC(10,2), day DATE, PRIMARY KEY (id))"#
            ))
            .await
            .unwrap();
        p.client
            .execute(&format!("CALL import_table(table => 'in.c-sales.{copy}', file_id => $1)"), &[&file_id])
            .await
            .unwrap();
        let back = rows(&p.client, &format!(r#"SELECT * FROM "in.c-sales"."{copy}" ORDER BY id"#)).await;
        assert_eq!(back, original, "{format}/{compression}");
    }
    // filters, columns, order and limit
    let row = p
        .client
        .query_one(
            r#"CALL export_table(table => 'in.c-sales.orders', columns => 'id,customer', order_by => 'id DESC', limit => 2,
                 "where" => '[{"column": "id", "operator": "ne", "values": ["4"]}]')"#,
            &[],
        )
        .await
        .unwrap();
    let bytes = download(&server, &p.token, row.get("file_id")).await;
    assert_eq!(String::from_utf8_lossy(&bytes), "id,customer\n3,\"\"\n2,\"Bob, \"\"B\"\"\"\n");
    let err = p
        .client
        .execute(
            r#"CALL export_table(table => 'in.c-sales.orders', "where" => '[{"column": "nope", "values": ["1"]}]')"#,
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42703");
    // changed_since: only rows written after the moment
    tokio::time::sleep(Duration::from_millis(20)).await;
    let moment = chrono::Utc::now().to_rfc3339();
    p.client.batch_execute(r#"UPDATE "in.c-sales"."orders" SET customer = 'Ann2' WHERE id = 1"#).await.unwrap();
    let row = p
        .client
        .query_one("CALL export_table(table => 'in.c-sales.orders', columns => 'id', changed_since => $1)", &[&moment])
        .await
        .unwrap();
    assert_eq!(download(&server, &p.token, row.get("file_id")).await, "id\n1\n");
    server.stop().await;
}

#[tokio::test]
async fn create_table_from_file_takes_the_header() {
    let server = TestServer::start().await;
    let p = project(&server, "fromfile").await;
    let id = upload_id(&server, &p.token, "people.csv", "id,name,city\n1,Ann,Prague\n2,Bob,Brno\n").await;
    let row = p
        .client
        .query_one(
            "CALL create_table_from_file(bucket => 'in.c-sales', name => 'people', file_id => $1, primary_key => 'id')",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("table_rows"), 2);
    let columns = rows(
        &p.client,
        "SELECT name, base_type, primary_key FROM duckstore.columns WHERE table_name = 'people' ORDER BY position",
    )
    .await;
    assert_eq!(
        columns,
        vec![
            vec![Some("id".into()), Some("STRING".into()), Some("t".into())],
            vec![Some("name".into()), Some("STRING".into()), Some("f".into())],
            vec![Some("city".into()), Some("STRING".into()), Some("f".into())],
        ]
    );
    // a file whose load fails leaves no table behind
    let bad = upload_id(&server, &p.token, "dups.csv", "id,x\n1,a\n1,b\n").await;
    let err = p
        .client
        .execute(
            "CALL create_table_from_file(bucket => 'in.c-sales', name => 'dups', file_id => $1, primary_key => 'id')",
            &[&bad],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "23505");
    let n: i64 =
        p.client.query_one("SELECT count(*) FROM duckstore.tables WHERE name = 'dups'", &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
    let bad = upload_id(&server, &p.token, "names.csv", "ok,\"bad name\"\n1,2\n").await;
    let err = p
        .client
        .execute("CALL create_table_from_file(bucket => 'in.c-sales', name => 'badnames', file_id => $1)", &[&bad])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42602");
    server.stop().await;
}

async fn wait_for_job(client: &tokio_postgres::Client, id: i64) -> (String, Option<String>, Option<String>) {
    for _ in 0..200 {
        let row =
            client.query_one("SELECT state, result, error FROM duckstore.jobs WHERE id = $1", &[&id]).await.unwrap();
        let state: String = row.get(0);
        if state == "success" || state == "error" {
            return (state, row.get(1), row.get(2));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test]
async fn async_jobs_report_their_outcome_and_never_stay_processing() {
    let server = TestServer::start().await;
    let p = project(&server, "jobs").await;
    orders(&p).await;
    let id = upload_id(&server, &p.token, "a.csv", "id,customer\n1,Ann\n2,Bob\n").await;
    let row = p
        .client
        .query_one("CALL import_table(table => 'in.c-sales.orders', file_id => $1, async => true)", &[&id])
        .await
        .unwrap();
    let job: i64 = row.get("job_id");
    assert_eq!(row.get::<_, Option<i64>>("imported_rows"), None);
    let (state, result, error) = wait_for_job(&p.client, job).await;
    assert_eq!((state.as_str(), error), ("success", None));
    let result: Value = serde_json::from_str(&result.unwrap()).unwrap();
    assert_eq!(result["imported_rows"], 2);
    let row = p.client.query_one("CALL export_table(table => 'in.c-sales.nope', async => true)", &[]).await.unwrap();
    let (state, _, error) = wait_for_job(&p.client, row.get("job_id")).await;
    assert_eq!(state, "error");
    let error: Value = serde_json::from_str(&error.unwrap()).unwrap();
    assert_eq!(error["sqlstate"], "42P01");
    // another project sees none of these jobs
    let stranger = project(&server, "stranger").await;
    assert!(rows(&stranger.client, "SELECT id FROM duckstore.jobs").await.is_empty());

    // a job the server was running when it stopped is an error after the restart
    let data = server.data_dir.clone();
    let keep = server.stop_keeping_data().await;
    {
        let catalog = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
        catalog
            .execute(
                "INSERT INTO jobs(project_id, procedure, state, created_at, created_by, started_at) VALUES (1, 'import_table', 'processing', 0, 'x', 0)",
                [],
            )
            .unwrap();
    }
    let (pg, http) = (
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let restarted = duckstore::server::start(crate::harness::config(data), pg, http).await.unwrap();
    let conn =
        format!("host=127.0.0.1 port={} user={} password={} dbname=main", restarted.pg_addr.port(), p.user, p.token);
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let states = rows(&client, "SELECT state FROM duckstore.jobs ORDER BY id").await;
    assert!(states.iter().all(|s| s[0].as_deref() != Some("processing") && s[0].as_deref() != Some("waiting")));
    assert_eq!(states.last().unwrap()[0].as_deref(), Some("error"));
    restarted.shutdown().await;
    drop(keep);
}

#[tokio::test]
async fn a_table_loads_from_another_table_atomically() {
    let server = TestServer::start().await;
    let p = project(&server, "copy").await;
    let c = &p.client;
    c.batch_execute(
        r#"CREATE TABLE "in.c-sales"."src" (id INTEGER NOT NULL, name STRING, amount NUMERIC(10,2), PRIMARY KEY (id));
           INSERT INTO "in.c-sales"."src" VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3), (4, 'd', 4);
           CREATE SCHEMA "out.c-r";
           CREATE TABLE "out.c-r"."dst" (key INTEGER NOT NULL, label STRING, PRIMARY KEY (key));
           INSERT INTO "out.c-r"."dst" VALUES (9, 'old')"#,
    )
    .await
    .unwrap();
    let rows = |sql: &'static str| async move {
        c.query(sql, &[]).await.unwrap().iter().map(|r| (r.get::<_, i32>(0), r.get::<_, String>(1))).collect::<Vec<_>>()
    };
    // a full load with mapped columns and a filter replaces the rows
    c.batch_execute(
        r#"CALL import_table_from_table(table => 'out.c-r.dst', source => 'in.c-sales.src', columns => 'id:key, name:label',
             "where" => '[{"column": "id", "operator": "ge", "values": ["2"]}]', limit => 2)"#,
    )
    .await
    .unwrap();
    let full = rows(r#"SELECT key, label FROM "out.c-r"."dst" ORDER BY key"#).await;
    assert_eq!(full.len(), 2);
    assert!(full.iter().all(|(k, _)| *k >= 2), "{full:?}");
    // incremental: an upsert by the key, the last row winning
    c.batch_execute(r#"UPDATE "in.c-sales"."src" SET name = 'B' WHERE id = 2"#).await.unwrap();
    c.batch_execute(
        "CALL import_table_from_table(table => 'out.c-r.dst', source => 'in.c-sales.src', columns => 'id:key,name:label', incremental => true)",
    )
    .await
    .unwrap();
    assert_eq!(
        rows(r#"SELECT key, label FROM "out.c-r"."dst" ORDER BY key"#).await,
        vec![(1, "a".into()), (2, "B".into()), (3, "c".into()), (4, "d".into())]
    );
    // a missing destination is created; a bad mapping changes nothing
    c.batch_execute("CALL import_table_from_table(table => 'out.c-r.whole', source => 'in.c-sales.src')")
        .await
        .unwrap();
    let n: i64 = c.query_one(r#"SELECT count(*) FROM "out.c-r"."whole""#, &[]).await.unwrap().get(0);
    assert_eq!(n, 4);
    let err = c
        .simple_query(
            "CALL import_table_from_table(table => 'out.c-r.dst', source => 'in.c-sales.src', columns => 'nope:key')",
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42703");
    let err = c
        .simple_query("CALL import_table_from_table(table => 'out.c-r.dst', source => 'in.c-sales.src', columns => 'id:key,name:key')")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42701");
    assert_eq!(rows(r#"SELECT key, label FROM "out.c-r"."dst" ORDER BY key"#).await.len(), 4);
    // another project's table is not a source; a read-only token cannot load
    let other = project(&server, "other").await;
    let err = other
        .client
        .simple_query("CALL import_table_from_table(table => 'in.c-sales.x', source => 'out.c-r.dst')")
        .await
        .unwrap_err();
    assert!(["42P01", "3F000"].contains(&sqlstate(&err).as_str()), "{err}");
    let ro = c.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap();
    let reader = server.connect(&ro.get::<_, String>("user_name"), &ro.get::<_, String>("token")).await;
    let err = reader
        .simple_query("CALL import_table_from_table(table => 'out.c-r.dst', source => 'in.c-sales.src')")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42501", "{}", message(&err));
    let _ = (&p.user, &p.token);
    server.stop().await;
}

#[tokio::test]
async fn an_export_names_and_tags_its_file() {
    let server = TestServer::start().await;
    let p = project(&server, "named").await;
    p.client
        .batch_execute(r#"CREATE TABLE "in.c-sales"."t" (id INTEGER); INSERT INTO "in.c-sales"."t" VALUES (1), (2)"#)
        .await
        .unwrap();
    let row = p
        .client
        .query_one(
            "CALL export_table(table => 'in.c-sales.t', file_name => 'run-7.csv', tags => 'run-7, nightly')",
            &[],
        )
        .await
        .unwrap();
    let id: i64 = row.get("file_id");
    let file = p.client.query_one("SELECT name, tags FROM duckstore.files WHERE id = $1", &[&id]).await.unwrap();
    assert_eq!(file.get::<_, String>("name"), "run-7.csv");
    let tags: Vec<String> = file.get("tags");
    assert_eq!(tags, vec!["export", "run-7", "nightly"]);
    assert_eq!(&download(&server, &p.token, id).await[..], b"id\n1\n2\n");
    for bad in ["file_name => '../x.csv'", "file_name => ''", "tags => 'a\nb'"] {
        let err =
            p.client.simple_query(&format!("CALL export_table(table => 'in.c-sales.t', {bad})")).await.unwrap_err();
        assert_eq!(sqlstate(&err), "22023", "{bad}: {err}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_preview_filters_by_values_and_change_times() {
    let server = TestServer::start().await;
    let p = project(&server, "preview").await;
    let c = &p.client;
    c.batch_execute(
        r#"CREATE TABLE "in.c-sales"."t" (id INTEGER, name STRING);
           INSERT INTO "in.c-sales"."t" VALUES (1, 'a'), (2, NULL), (3, 'c')"#,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    c.batch_execute(r#"UPDATE "in.c-sales"."t" SET name = 'C' WHERE id = 3"#).await.unwrap();
    let preview = |args: &str| format!("CALL preview_table(table => 'in.c-sales.t'{args})");
    let row = c.query_one(&preview(", order_by => 'id'"), &[]).await.unwrap();
    assert_eq!(row.get::<_, String>("columns"), r#"["id","name"]"#);
    assert_eq!(row.get::<_, String>("rows"), r#"[["1","a"],["2",null],["3","C"]]"#);
    let row = c.query_one(&preview(", changed_since => '1 second'"), &[]).await.unwrap();
    assert_eq!(row.get::<_, String>("rows"), r#"[["3","C"]]"#);
    let row = c
        .query_one(&preview(r#", columns => 'name', "where" => '[{"column": "id", "operator": "le", "values": ["2"]}]', order_by => 'id DESC', limit => 1"#), &[])
        .await
        .unwrap();
    assert_eq!((row.get::<_, String>("rows"), row.get::<_, i64>("row_count")), (r#"[[null]]"#.to_owned(), 1));
    let err = c.simple_query(&preview(", limit => 5000")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22023");
    // a read: read-only tokens may preview; another project may not
    let ro = c.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap();
    let reader = server.connect(&ro.get::<_, String>("user_name"), &ro.get::<_, String>("token")).await;
    assert_eq!(reader.query_one(&preview(""), &[]).await.unwrap().get::<_, i64>("row_count"), 3);
    let other = project(&server, "other").await;
    let err = other.client.simple_query(&preview("")).await.unwrap_err();
    assert!(["42P01", "3F000"].contains(&sqlstate(&err).as_str()), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn filters_compare_as_a_requested_type_and_fulltext_searches_the_columns() {
    let server = TestServer::start().await;
    let p = project(&server, "typed").await;
    let c = &p.client;
    // a text column holding numbers: compared as text, '10' < '9'; as INTEGER, 10 > 9
    c.batch_execute(
        r#"CREATE TABLE "in.c-sales"."t" (id INTEGER, code STRING, note STRING);
           INSERT INTO "in.c-sales"."t" VALUES (1, '9', 'Big_Deal 100%'), (2, '10', 'small'), (3, 'n/a', NULL)"#,
    )
    .await
    .unwrap();
    let preview =
        |args: &str| format!("CALL preview_table(table => 'in.c-sales.t', columns => 'id', order_by => 'id'{args})");
    let rows = |row: tokio_postgres::Row| row.get::<_, String>("rows");
    let typed = r#", "where" => '[{"column": "code", "operator": "gt", "values": ["9"], "data_type": "INTEGER"}]'"#;
    assert_eq!(rows(c.query_one(&preview(typed), &[]).await.unwrap()), r#"[["2"]]"#);
    let as_text = r#", "where" => '[{"column": "code", "operator": "gt", "values": ["9"]}]'"#;
    assert_eq!(rows(c.query_one(&preview(as_text), &[]).await.unwrap()), r#"[["3"]]"#);
    // sorting as a type: '10' after '9' as INTEGER (a value that does not convert last)
    let sorted =
        |order: &str| format!("CALL preview_table(table => 'in.c-sales.t', columns => 'id', order_by => '{order}')");
    assert_eq!(rows(c.query_one(&sorted("code::INTEGER DESC"), &[]).await.unwrap()), r#"[["2"],["1"],["3"]]"#);
    assert_eq!(rows(c.query_one(&sorted("code DESC"), &[]).await.unwrap()), r#"[["3"],["1"],["2"]]"#);
    // fulltext: case-insensitive substring of any selected column; % and _ are plain characters
    let search =
        |text: &str| format!("CALL preview_table(table => 'in.c-sales.t', order_by => 'id', fulltext => '{text}')");
    assert_eq!(rows(c.query_one(&search("big_d"), &[]).await.unwrap()), r#"[["1","9","Big_Deal 100%"]]"#);
    assert_eq!(rows(c.query_one(&search("0%"), &[]).await.unwrap()), r#"[["1","9","Big_Deal 100%"]]"#);
    assert_eq!(rows(c.query_one(&search("g_d"), &[]).await.unwrap()), r#"[["1","9","Big_Deal 100%"]]"#);
    assert_eq!(rows(c.query_one(&search("gXd"), &[]).await.unwrap()), "[]");
    assert_eq!(
        rows(c.query_one(&search("10"), &[]).await.unwrap()),
        r#"[["1","9","Big_Deal 100%"],["2","10","small"]]"#
    );
    // the export takes the same arguments
    let id: i64 = c
        .query_one(
            &format!("CALL export_table(table => 'in.c-sales.t', columns => 'id', fulltext => 'SMALL'{typed})"),
            &[],
        )
        .await
        .unwrap()
        .get("file_id");
    assert_eq!(&download(&server, &p.token, id).await[..], b"id\n2\n");
    let bad = r#", "where" => '[{"column": "code", "values": ["1"], "data_type": "VARCHAR(3)"}]'"#;
    let err = c.simple_query(&preview(bad)).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22023");
    let err = c
        .simple_query(&preview(r#", "where" => '[{"column": "code", "values": ["x"], "data_type": "INTEGER"}]'"#))
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22P02", "{err}");
    server.stop().await;
}

#[tokio::test]
async fn an_import_reads_slices_several_null_markers_and_skips_lines() {
    let server = TestServer::start().await;
    let p = project(&server, "slices").await;
    let c = &p.client;
    c.batch_execute(r#"CREATE TABLE "in.c-sales"."t" (id INTEGER, name STRING, amount DOUBLE, PRIMARY KEY (id))"#)
        .await
        .unwrap();
    // a sliced file: slices without a header, read as one file, positionally
    let a = upload_id(&server, &p.token, "part-1.csv", "1,ann,1.5\n2,NA,NULL\n").await;
    let b = upload_id(&server, &p.token, "part-2.csv", "3,,NA\n").await;
    let call = format!(
        r#"CALL import_table(table => 'in.c-sales.t', file_ids => '{a},{b}', header => false, null_strings => '["NA", "NULL"]')"#
    );
    let row = c.query_one(&call, &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>("imported_rows"), 3);
    // "NA" and "NULL" are NULL in every column; an empty field is then just empty text
    assert_eq!(
        rows(c, r#"SELECT id, name, amount FROM "in.c-sales"."t" ORDER BY id"#).await,
        vec![
            vec![Some("1".into()), Some("ann".into()), Some("1.5".into())],
            vec![Some("2".into()), None, None],
            vec![Some("3".into()), Some("".into()), None],
        ]
    );
    // two lines before the header are skipped; the header still names the columns
    let f = upload_id(&server, &p.token, "report.csv", "exported by X\n\namount,id,name\n9,4,dan\n").await;
    let call =
        format!("CALL import_table(table => 'in.c-sales.t', file_id => {f}, incremental => true, skip_lines => 2)");
    c.query_one(&call, &[]).await.unwrap();
    assert_eq!(
        rows(c, r#"SELECT name, amount FROM "in.c-sales"."t" WHERE id = 4"#).await,
        vec![vec![Some("dan".into()), Some("9".into())]]
    );
    // slices must agree; both ways of naming files at once, and bad lists, are refused
    let parquet = {
        let id: i64 = c
            .query_one("CALL export_table(table => 'in.c-sales.t', format => 'parquet')", &[])
            .await
            .unwrap()
            .get("file_id");
        id
    };
    for bad in [
        format!("file_ids => '{a},{parquet}'"),
        format!("file_id => {a}, file_ids => '{b}'"),
        "file_ids => '1,x'".to_owned(),
        "file_ids => ''".to_owned(),
        format!("file_id => {a}, null_strings => 'NA'"),
        format!("file_id => {a}, null_string => 'x', null_strings => '[\"y\"]'"),
        format!("file_id => {a}, skip_lines => -1"),
    ] {
        let err = c.simple_query(&format!("CALL import_table(table => 'in.c-sales.t', {bad})")).await.unwrap_err();
        assert_eq!(sqlstate(&err), "22023", "{bad}: {err}");
    }
    // a slice of another project is not found, and nothing was loaded
    let other = project(&server, "other").await;
    let foreign = upload_id(&server, &other.token, "x.csv", "5,eve,1\n").await;
    let err = c
        .simple_query(&format!(
            "CALL import_table(table => 'in.c-sales.t', file_ids => '{a},{foreign}', header => false)"
        ))
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "58P01", "{err}");
    assert_eq!(rows(c, r#"SELECT count(*) FROM "in.c-sales"."t""#).await, vec![vec![Some("4".into())]]);
    server.stop().await;
}

#[tokio::test]
async fn empty_fields_become_null_in_the_text_columns_a_load_names() {
    let server = TestServer::start().await;
    let p = project(&server, "empty").await;
    let c = &p.client;
    c.batch_execute(r#"CREATE TABLE "in.c-sales"."t" (id INTEGER, a STRING, b STRING, n INTEGER)"#).await.unwrap();
    let f = upload_id(&server, &p.token, "e.csv", "id,a,b,n\n1,,,\n2,x,y,3\n").await;
    c.query_one(&format!("CALL import_table(table => 'in.c-sales.t', file_id => {f}, empty_as_null => 'b')"), &[])
        .await
        .unwrap();
    // a keeps '' (Keboola's convention), b becomes NULL, n is NULL as non-text columns always are
    assert_eq!(
        rows(c, r#"SELECT a, b IS NULL, n IS NULL FROM "in.c-sales"."t" WHERE id = 1"#).await,
        vec![vec![Some("".into()), Some("t".into()), Some("t".into())]]
    );
    for (bad, state) in
        [("empty_as_null => 'nope'", "42703"), ("empty_as_null => 'b', null_strings => '[\"NA\"]'", "22023")]
    {
        let err = c
            .simple_query(&format!("CALL import_table(table => 'in.c-sales.t', file_id => {f}, {bad})"))
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&err), state, "{bad}: {err}");
    }
    server.stop().await;
}

#[tokio::test]
async fn loads_can_keep_the_change_times_of_their_source() {
    let server = TestServer::start().await;
    let p = project(&server, "times").await;
    let c = &p.client;
    c.batch_execute(
        r#"CREATE TABLE "in.c-sales"."src" (id INTEGER NOT NULL, name STRING, PRIMARY KEY (id));
           INSERT INTO "in.c-sales"."src" VALUES (1, 'a'), (2, 'b');"#,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let old_rows = |table: &str| {
        format!(
            "CALL preview_table(table => '{table}', columns => 'id', order_by => 'id', changed_until => '1 second')"
        )
    };
    // table to table: the copy keeps the source rows' times, and so still counts as old
    c.query_one(
        "CALL import_table_from_table(table => 'in.c-sales.kept', source => 'in.c-sales.src', keep_timestamps => true)",
        &[],
    )
    .await
    .unwrap();
    c.query_one("CALL import_table_from_table(table => 'in.c-sales.fresh', source => 'in.c-sales.src')", &[])
        .await
        .unwrap();
    let rows = |row: tokio_postgres::Row| row.get::<_, String>("rows");
    assert_eq!(rows(c.query_one(&old_rows("in.c-sales.kept"), &[]).await.unwrap()), r#"[["1"],["2"]]"#);
    assert_eq!(rows(c.query_one(&old_rows("in.c-sales.fresh"), &[]).await.unwrap()), "[]");
    // an incremental upsert keeps them too
    c.batch_execute(r#"UPDATE "in.c-sales"."kept" SET name = 'new'"#).await.unwrap();
    c.query_one(
        "CALL import_table_from_table(table => 'in.c-sales.kept', source => 'in.c-sales.src', incremental => true, keep_timestamps => true)",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(rows(c.query_one(&old_rows("in.c-sales.kept"), &[]).await.unwrap()), r#"[["1"],["2"]]"#);
    // a file with a _timestamp column; without keep_timestamps that column is not the table's
    let f = upload_id(&server, &p.token, "t.csv", "id,name,_timestamp\n7,x,2020-01-01 00:00:00+00\n").await;
    let err = c
        .simple_query(&format!("CALL import_table(table => 'in.c-sales.src', file_id => {f}, incremental => true)"))
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42703");
    c.query_one(
        &format!(
            "CALL import_table(table => 'in.c-sales.src', file_id => {f}, incremental => true, keep_timestamps => true)"
        ),
        &[],
    )
    .await
    .unwrap();
    let before_2021 =
        "CALL preview_table(table => 'in.c-sales.src', columns => 'id', changed_until => '2021-01-01 00:00:00+00')";
    assert_eq!(rows(c.query_one(before_2021, &[]).await.unwrap()), r#"[["7"]]"#);
    // keeping times needs the column
    let g = upload_id(&server, &p.token, "u.csv", "id,name\n8,y\n").await;
    let err = c
        .simple_query(&format!("CALL import_table(table => 'in.c-sales.src', file_id => {g}, keep_timestamps => true)"))
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42703");
    server.stop().await;
}
