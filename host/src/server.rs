//! The HTTP listener: HTTP/1.1 with keep-alive, one task per connection, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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
    /// Binds `listen` and serves `runtime` until [`Server::shutdown`]. On shutdown it stops
    /// accepting, lets every connection finish the request it is serving (keep-alive connections
    /// close after it), and waits for them up to `grace`; connections still busy then are
    /// dropped.
    pub async fn start(runtime: Arc<Runtime>, listen: SocketAddr, grace: Duration) -> Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        let (shutdown, mut stop) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    // Reap finished connections so the set stays small.
                    Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                    _ = stop.changed() => break,
                };
                let (stream, client) = match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                };
                // Spin's server leaves Nagle on; only asked for (`HostConfig::tcp_nodelay`).
                if runtime.config.tcp_nodelay
                    && let Err(e) = stream.set_nodelay(true)
                {
                    tracing::debug!("TCP_NODELAY on a connection from {client}: {e}");
                }
                let runtime = Arc::clone(&runtime);
                let mut stop = stop.clone();
                connections.spawn(async move {
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
            // Stopped accepting (the listener closes here); finish what is in flight.
            drop(listener);
            let busy = connections.len();
            if busy > 0 {
                tracing::info!("shutdown: waiting up to {grace:?} for {busy} connection(s)");
            }
            let drained = tokio::time::timeout(grace, async {
                while connections.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                tracing::warn!(
                    "shutdown: {} connection(s) still busy after {grace:?}; dropping them",
                    connections.len()
                );
                connections.abort_all();
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

    /// Stops accepting, lets in-flight requests finish (up to the grace period), and returns
    /// once they have.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
