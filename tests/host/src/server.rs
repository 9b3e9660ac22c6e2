//! The HTTP listener: HTTP/1.1 with keep-alive, one task per connection, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wasmtime_wasi_http::io::TokioIo;

use crate::app::Runtime;

/// A running HTTP server.
pub struct Server {
    /// The bound address.
    pub addr: SocketAddr,
    shutdown: std::sync::Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds `listen` and serves `runtime` until [`Server::shutdown`].
    pub async fn start(runtime: Arc<Runtime>, listen: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        let (shutdown, mut stop) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stop.changed() => break,
                };
                let (stream, client) = match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let runtime = Arc::clone(&runtime);
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let runtime = Arc::clone(&runtime);
                        async move {
                            Ok::<_, std::convert::Infallible>(runtime.handle(req, client).await)
                        }
                    });
                    let conn = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        r = conn.as_mut() => if let Err(e) = r {
                            tracing::debug!("connection from {client}: {e}");
                        },
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
        });
        Ok(Self {
            addr,
            shutdown: std::sync::Arc::new(shutdown),
            task,
        })
    }

    /// A handle that stops the server from elsewhere (stop accepting, finish in-flight requests).
    pub fn stopper(&self) -> impl Fn() + Send + Sync + 'static {
        let shutdown = std::sync::Arc::clone(&self.shutdown);
        move || {
            shutdown.send_replace(true);
        }
    }

    /// Stops accepting, lets in-flight requests finish.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
