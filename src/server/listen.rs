//! The accept loop: a bounded number of connections served at once, each with a deadline for
//! its request head, a graceful end on shutdown, and the local address each request came on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

/// The local address of the connection a request came on (the WSDL names it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub(crate) Option<SocketAddr>);

/// The address of the client a request came from (its quota's key, error 113).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddr(pub(super) Option<SocketAddr>);

/// Accepts connections until `stopped`, then lets each finish its request and closes it. A
/// client gets `idle` to send its request head (hyper's header timeout) and, in the handlers, to
/// send each piece of its body: a slow-loris client is cut off instead of holding a task and
/// its buffers forever.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    idle: Duration,
    max_connections: usize,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use futures_util::future::{Either, select};
    let (closing, closing_watch) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    loop {
        // A free slot first: at the limit, new connections wait in the backlog.
        let slot = match select(
            std::pin::pin!(Arc::clone(&slots).acquire_owned()),
            &mut stopped,
        )
        .await
        {
            Either::Left((Ok(slot), _)) => slot,
            Either::Left((Err(_), _)) | Either::Right(_) => break,
        };
        let accepted = match select(std::pin::pin!(listener.accept()), &mut stopped).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => break,
        };
        // Finished connections are reaped as new ones come.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok((stream, peer)) => (stream, PeerAddr(Some(peer))),
            Err(error) => {
                // Out of file descriptors and the like: pause instead of spinning.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Each request learns the address its client reached: the WSDL names it, never what
        // the client's Host header claims.
        let local = LocalAddr(stream.local_addr().ok());
        let inner = hyper_util::service::TowerToHyperService::new(router.clone());
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(local);
                request.extensions_mut().insert(peer);
                hyper::service::Service::call(&inner, request)
            },
        );
        let mut closing = closing_watch.clone();
        connections.spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(idle)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            match select(connection.as_mut(), std::pin::pin!(closing.changed())).await {
                Either::Left(_) => {}
                Either::Right(_) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await.ok();
                }
            }
        });
    }
    closing.send(true).ok();
    while connections.join_next().await.is_some() {}
}
