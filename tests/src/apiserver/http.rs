//! The HTTP face of the emulated API server: the verbs on resource paths as kube-rs sends them
//! (lenient queries: kube writes `?&a=b`), JSON `Status` bodies for every error, watches as
//! chunked streams of JSON lines (the backlog from the requested resourceVersion, then live
//! changes, a BOOKMARK every [`BOOKMARK_EVERY`], ended after `timeoutSeconds`; an expired
//! resourceVersion is an in-stream ERROR with code 410, as a real server sends it), and the
//! injected faults (a status code, a connection dropped mid-answer, or an answer lost after
//! the request was carried out).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::kinds::kind_of_plural;
use super::patch::PatchKind;
use super::path::{ResourcePath, parse};
use super::selector::Selector;
use super::store::ApiError;
use super::{FaultAnswer, Shared};

/// How often an idle watch with bookmarks gets one.
pub const BOOKMARK_EVERY: Duration = Duration::from_secs(2);

/// The query parameters, decoded; empty pairs skipped.
fn query(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn json_response(code: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code(), &e.status())
}

/// A response whose body fails before its first byte: the client sees the connection close
/// in the middle of an answer.
fn dropped() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected: connection dropped",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(failing))
        .unwrap_or_default()
}

/// Every request enters here.
pub async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Infallible> {
    shared.record(method.as_str(), &uri);
    let answer_lost = match shared.fault_for(method.as_str(), uri.path()) {
        Some(FaultAnswer::Status(code)) => return Ok(error_response(&ApiError::Injected(code))),
        Some(FaultAnswer::Drop) => return Ok(dropped()),
        Some(FaultAnswer::DropAnswer) => true,
        None => false,
    };
    let Some(path) = parse(uri.path()) else {
        return Ok(error_response(&ApiError::NotFound(format!(
            "the server could not find the requested resource {}",
            uri.path()
        ))));
    };
    let q = query(&uri);
    let selector = match Selector::parse(param(&q, "labelSelector").unwrap_or_default()) {
        Ok(s) => s,
        Err(e) => return Ok(error_response(&ApiError::BadRequest(e))),
    };
    if method == Method::GET && param(&q, "watch").is_some_and(|w| w == "true" || w == "1") {
        return Ok(watch(&shared, path, selector, &q));
    }
    let parsed_body = || -> Result<Value, ApiError> {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))
    };
    let result = {
        let mut state = shared.state();
        match method {
            Method::GET if path.name.is_some() => state.get(&path),
            Method::GET => {
                let limit = param(&q, "limit").and_then(|l| l.parse().ok());
                Ok(state.list(&path, &selector, limit, param(&q, "continue")))
            }
            Method::POST => parsed_body().and_then(|b| state.create(&path, b)),
            Method::PUT => parsed_body().and_then(|b| state.replace(&path, b)),
            Method::PATCH => {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                match PatchKind::from_content_type(ct) {
                    None => Err(ApiError::Unsupported(format!(
                        "the patch content type {ct:?} is not supported"
                    ))),
                    Some(kind) => parsed_body().and_then(|b| {
                        state.patch(
                            &path,
                            kind,
                            &b,
                            param(&q, "fieldManager"),
                            param(&q, "force") == Some("true"),
                        )
                    }),
                }
            }
            Method::DELETE => state.delete(&path),
            _ => Err(ApiError::MethodNotAllowed(format!(
                "{method} is not served"
            ))),
        }
    };
    Ok(match result {
        _ if answer_lost => dropped(),
        Ok(v) => json_response(if method == Method::POST { 201 } else { 200 }, &v),
        Err(e) => error_response(&e),
    })
}

fn line(v: &Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

/// A watch: the backlog, then live changes, until `timeoutSeconds` or the client leaves.
fn watch(
    shared: &Arc<Shared>,
    path: ResourcePath,
    selector: Selector,
    q: &[(String, String)],
) -> Response {
    let bookmarks = param(q, "allowWatchBookmarks") == Some("true");
    let timeout = Duration::from_secs(
        param(q, "timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .unwrap_or(1800),
    );
    let since = param(q, "resourceVersion")
        .and_then(|rv| rv.parse::<u64>().ok())
        .filter(|rv| *rv > 0);
    let collection = path.collection();
    let ns = path.namespace.clone();
    let (backlog, mut changes, mut rv, kind) = {
        let state = shared.state();
        let backlog: Vec<Value> = match since {
            Some(rv) => match state.changes_since(rv) {
                Ok(changes) => changes
                    .iter()
                    .filter(|c| c.collection == collection)
                    .filter_map(|c| c.event_for(ns.as_deref(), &selector))
                    .collect(),
                Err(e) => vec![json!({"type": "ERROR", "object": e.status()})],
            },
            None => state
                .objects(&collection, ns.as_deref(), &selector)
                .into_iter()
                .map(|o| json!({"type": "ADDED", "object": o}))
                .collect(),
        };
        (
            backlog,
            state.subscribe(),
            state.resource_version(),
            kind_of_plural(&path.plural),
        )
    };
    let expired = backlog.iter().any(|e| e["type"] == "ERROR");
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let api_version = path.api_version.clone();
    tokio::spawn(async move {
        for event in &backlog {
            if tx.send(line(event)).await.is_err() {
                return;
            }
        }
        if expired {
            return;
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(c) => {
                        rv = rv.max(c.rv);
                        if c.collection != collection {
                            continue;
                        }
                        if let Some(event) = c.event_for(ns.as_deref(), &selector)
                            && tx.send(line(&event)).await.is_err()
                        {
                            return;
                        }
                    }
                    // A watcher that fell behind is ended; it comes back from its last
                    // resourceVersion, as from a real server's closed watch.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
                () = tokio::time::sleep(BOOKMARK_EVERY), if bookmarks => {
                    let bookmark = json!({"type": "BOOKMARK", "object": {
                        "apiVersion": api_version, "kind": kind,
                        "metadata": {"resourceVersion": rv.to_string()}}});
                    if tx.send(line(&bookmark)).await.is_err() {
                        return;
                    }
                }
                () = &mut deadline => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}
