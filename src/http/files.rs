//! `/v1/files`: upload (raw body or multipart, streamed to disk), list, describe, download
//! (streamed, with `Range`) and delete. Every route authenticates the storage token and leaves
//! every decision about projects, scopes and quotas to the storage layer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{HttpState, error_response};
use crate::catalog::FileRecord;
use crate::error::{Error, Result};
use crate::storage::SessionContext;
use crate::storage::files::Upload;

/// The token from `Authorization: Bearer …` or `X-StorageApi-Token`.
async fn authenticate(state: &HttpState, headers: &HeaderMap) -> Result<SessionContext> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let token = bearer.or_else(|| headers.get("x-storageapi-token").and_then(|v| v.to_str().ok()).map(str::trim));
    let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
        Error::unauthenticated("send a storage token in Authorization: Bearer … or X-StorageApi-Token")
    })?;
    state.storage.authenticate_token(token.to_owned()).await
}

pub(super) fn file_json(f: &FileRecord) -> serde_json::Value {
    json!({
        "id": f.id,
        "name": f.name,
        "size": f.size,
        "sha256": f.sha256,
        "tags": f.tags,
        "created": crate::clock::format_micros(f.created_at),
        "created_by": f.created_by,
    })
}

fn split_tags(tags: Option<&str>) -> Vec<String> {
    tags.map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
}

#[derive(Deserialize)]
pub(super) struct UploadQuery {
    name: Option<String>,
    tags: Option<String>,
    sha256: Option<String>,
}

/// `POST /v1/files`: the body is the file, or a multipart form with a `file` field.
pub(super) async fn upload(
    State(state): State<Arc<HttpState>>,
    Query(q): Query<UploadQuery>,
    request: Request,
) -> Response {
    match upload_inner(&state, q, request).await {
        Ok(record) => (StatusCode::CREATED, axum::Json(file_json(&record))).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn upload_inner(state: &Arc<HttpState>, q: UploadQuery, request: Request) -> Result<FileRecord> {
    let ctx = authenticate(state, request.headers()).await?;
    let declared_size =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let tags = split_tags(q.tags.as_deref());
    if multipart {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| Error::invalid(format!("a multipart upload needs a valid form: {e}")))?;
        while let Some(mut field) =
            form.next_field().await.map_err(|e| Error::invalid(format!("reading the multipart form: {e}")))?
        {
            if field.name() != Some("file") {
                continue;
            }
            let name = q.name.clone().or_else(|| field.file_name().map(str::to_owned)).unwrap_or_else(|| "file".into());
            let mut upload = state.storage.begin_upload(ctx, name, tags, None).await?;
            while let Some(chunk) =
                field.chunk().await.map_err(|e| Error::invalid(format!("reading the multipart form: {e}")))?
            {
                upload.write(&chunk).await?;
            }
            return upload.finish(q.sha256.as_deref()).await;
        }
        return Err(Error::invalid("the multipart form has no \"file\" field"));
    }
    let name = q.name.clone().ok_or_else(|| Error::invalid("name the file: POST /v1/files?name=orders.csv"))?;
    let upload = state.storage.begin_upload(ctx, name, tags, declared_size).await?;
    stream_body(upload, request.into_body(), q.sha256.as_deref()).await
}

async fn stream_body(mut upload: Upload, body: Body, sha256: Option<&str>) -> Result<FileRecord> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::invalid(format!("the upload was interrupted: {e}")))?;
        upload.write(&chunk).await?;
    }
    upload.finish(sha256).await
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    tags: Option<String>,
    limit: Option<i64>,
    /// Paging: files with an id below this one.
    before: Option<i64>,
}

/// `GET /v1/files`: newest first, `limit` (≤ 1000, default 100), `before` for the next page.
pub(super) async fn list(
    State(state): State<Arc<HttpState>>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let ctx = authenticate(&state, &headers).await?;
        state.storage.files(ctx, split_tags(q.tags.as_deref()), q.before, q.limit.unwrap_or(100)).await
    }
    .await;
    match result {
        Ok(files) => axum::Json(files.iter().map(file_json).collect::<Vec<_>>()).into_response(),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn describe(State(state): State<Arc<HttpState>>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let result = async {
        let ctx = authenticate(&state, &headers).await?;
        state.storage.file(ctx, id).await
    }
    .await;
    match result {
        Ok(file) => axum::Json(file_json(&file.record)).into_response(),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn delete(State(state): State<Arc<HttpState>>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let result = async {
        let ctx = authenticate(&state, &headers).await?;
        state.storage.delete_file(ctx, id).await
    }
    .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

/// A single byte range of a `size`-byte file: `Ok(None)` for the whole file, `Err(())` when
/// the range cannot be satisfied.
fn parse_range(value: &str, size: u64) -> std::result::Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        // Several ranges: answer the whole file, as a server may.
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 || size == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size - 1)
        }
        (start, "") => (start.parse().map_err(|_| ())?, size.saturating_sub(1)),
        (start, end) => {
            let (s, e): (u64, u64) = (start.parse().map_err(|_| ())?, end.parse().map_err(|_| ())?);
            (s, e.min(size.saturating_sub(1)))
        }
    };
    if start >= size || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// `GET /v1/files/{id}/content`: streamed, with a single `Range` honoured.
pub(super) async fn content(State(state): State<Arc<HttpState>>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let file = match async {
        let ctx = authenticate(&state, &headers).await?;
        state.storage.file(ctx, id).await
    }
    .await
    {
        Ok(f) => f,
        Err(e) => return error_response(&e),
    };
    let size = file.record.size as u64;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|v| parse_range(v, size)) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(r))) => Some(r),
        Some(Err(())) => {
            return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{size}"))])
                .into_response();
        }
    };
    let mut handle = match tokio::fs::File::open(&file.path).await {
        Ok(h) => h,
        Err(e) => return error_response(&Error::internal("opening a file", e)),
    };
    let (status, start, length) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        None => (StatusCode::OK, 0, size),
    };
    if start > 0
        && let Err(e) = handle.seek(std::io::SeekFrom::Start(start)).await
    {
        return error_response(&Error::internal("reading a file", e));
    }
    metrics::counter!("duckstore_file_bytes_total", "direction" => "out").increment(length);
    let stream = tokio_util::io::ReaderStream::with_capacity(handle.take(length), 1 << 16);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.record.name.replace('"', ""))) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&file.record.sha256) {
        h.insert("x-content-sha256", v);
    }
    if let Some((start, end)) = range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_parse_like_rfc_9110() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=95-200", 100), Ok(Some((95, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-2", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }
}
