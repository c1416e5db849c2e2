//! `calls` calls of `test.echo` shared among `concurrency` tasks of one client, timed: what the
//! benches that count calls per second measure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ipernity::Client;

/// The time `calls` calls of `test.echo` take, `concurrency` at a time.
pub(crate) async fn measure(client: &Client, concurrency: usize, calls: usize) -> Duration {
    let client = Arc::new(client.clone());
    let started = Instant::now();
    let per_task = calls / concurrency;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move {
                for _ in 0..per_task {
                    client
                        .call("test.echo")
                        .param("echo", "hello")
                        .send()
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}
