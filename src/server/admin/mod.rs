//! The AdminServer: Apache ZooKeeper's HTTP interface to its commands
//! (`JettyAdminServer`), on `admin.serverAddress:admin.serverPort` (default
//! 0.0.0.0:8080) unless `admin.enableServer=false`.
//!
//! - `GET <commandURL>/<name>` runs a command ([`commands`]) and answers its
//!   JSON object, laid out as ZooKeeper's ([`jackson`]); an unknown name is
//!   answered 200 with an error in the object, as ZooKeeper does.
//! - `GET <commandURL>` lists the commands as links.
//! - Other methods get 405, other paths 404.
//!
//! It runs on the event loop beside the sessions: a command only reads the
//! counters and tables the four-letter words read. If its port cannot be
//! bound the server does not start, as ZooKeeper exits then.

pub mod commands;
pub mod jackson;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::server::Shared;

/// Binds the AdminServer when it is enabled and serves it on the current
/// event loop; returns its address (`None` when disabled).
pub async fn start(shared: Arc<Shared>) -> io::Result<Option<SocketAddr>> {
    let admin = &shared.config.admin;
    if !admin.enabled {
        return Ok(None);
    }
    let bind = SocketAddr::new(admin.address, admin.port);
    let listener = TcpListener::bind(bind).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot start the AdminServer on {bind}: {e} \
                 (set admin.serverPort, or admin.enableServer=false)"
            ),
        )
    })?;
    let local = listener.local_addr()?;
    tracing::info!(
        "Started AdminServer on address {}, port {} and command URL {}",
        local.ip(),
        local.port(),
        admin.command_url
    );
    actix::spawn(accept_loop(listener, shared));
    Ok(Some(local))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let idle = Duration::from_millis(shared.config.admin.idle_timeout_ms.max(1));
    serve_http(listener, idle, "AdminServer", move |req| {
        respond(req, &shared)
    })
    .await
}

/// Serves HTTP/1 on `listener` until the process ends, each request
/// answered by `answer`; `what` names the server in log lines. Also the
/// Prometheus endpoint's.
pub async fn serve_http<F>(listener: TcpListener, idle: Duration, what: &'static str, answer: F)
where
    F: Fn(&Request<Incoming>) -> Response<Full<Bytes>> + 'static,
{
    let answer = std::rc::Rc::new(answer);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("{what} accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let answer = answer.clone();
        actix::spawn(async move {
            let service = service_fn(move |req| {
                let response = answer(&req);
                async move { Ok::<_, Infallible>(response) }
            });
            let served = http1::Builder::new()
                .title_case_headers(true)
                .timer(TokioTimer::new())
                .header_read_timeout(idle)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!("{what} connection ended: {e}");
            }
        });
    }
}

/// The answer to one HTTP request.
fn respond(req: &Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let base = shared.config.admin.command_url.as_str();
    let Some(rest) = req.uri().path().strip_prefix(base) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    if rest.starts_with(|c| c != '/') {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let msg = format!("HTTP method {} is not supported by this URL", req.method());
        return plain(StatusCode::METHOD_NOT_ALLOWED, &msg);
    }
    let name = rest.trim_start_matches('/');
    if name.is_empty() {
        return Response::new(Full::new(Bytes::from(command_links(base))));
    }
    let answer = commands::run(name, req.uri().query().unwrap_or(""), shared);
    let body = jackson::to_string(&serde_json::Value::Object(answer));
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The command list ZooKeeper serves at the command URL: a link per command.
fn command_links(base: &str) -> String {
    commands::names()
        .map(|name| format!("<a href=\"{base}/{name}\">{name}</a>\n<br/>\n"))
        .collect()
}

/// A text answer with `status`.
pub fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_every_command_under_the_url() {
        let page = command_links("/commands");
        assert!(page.starts_with("<a href=\"/commands/configuration\">configuration</a>\n<br/>\n"));
        assert!(page.ends_with("<a href=\"/commands/zabstate\">zabstate</a>\n<br/>\n"));
        assert_eq!(page.matches("<a href").count(), commands::names().count());
    }
}
