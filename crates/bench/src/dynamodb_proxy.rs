//! A TCP relay in front of DynamoDB Local that adds up how long DynamoDB Local takes to
//! answer: from the last byte of a request to the first byte of its response. A cold start's
//! first response includes that time, which is DynamoDB Local's (a transaction takes it several
//! times longer than a GetItem), not the function's; the report shows both.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Shared {
    /// Nanoseconds DynamoDB Local spent answering since the last reset.
    service_nanos: AtomicU64,
    generation: AtomicU64,
}

pub struct DynamoDbProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl DynamoDbProxy {
    /// Relays 127.0.0.1:<free port> to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let shared = Arc::clone(&accepting);
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let _ = relay(client, &upstream, &shared);
                });
            }
        });
        Ok(Self { addr, shared })
    }

    /// `http://127.0.0.1:<port>`, for `DYNAMODB_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn reset(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        self.shared.service_nanos.store(0, Ordering::SeqCst);
    }

    /// DynamoDB Local's answering time since the last [`reset`](Self::reset).
    pub fn service_time(&self) -> Duration {
        Duration::from_nanos(self.shared.service_nanos.load(Ordering::SeqCst))
    }
}

fn relay(client: TcpStream, upstream: &str, shared: &Arc<Shared>) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    // When the latest request bytes went out, until the response starts.
    let sent: Arc<Mutex<Option<(Instant, u64)>>> = Arc::default();

    let (mut from_client, mut to_server) = (client.try_clone()?, server.try_clone()?);
    let requests = Arc::clone(&sent);
    let generations = Arc::clone(shared);
    let upstream_half = std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(read) = from_client.read(&mut buffer) {
            if read == 0 || to_server.write_all(&buffer[..read]).is_err() {
                break;
            }
            let generation = generations.generation.load(Ordering::SeqCst);
            *requests.lock().unwrap() = Some((Instant::now(), generation));
        }
        let _ = to_server.shutdown(Shutdown::Write);
    });

    let (mut from_server, mut to_client) = (server, client);
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(read) = from_server.read(&mut buffer) {
        if read == 0 {
            break;
        }
        if let Some((at, generation)) = sent.lock().unwrap().take()
            && generation == shared.generation.load(Ordering::SeqCst)
        {
            let nanos = u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX);
            shared.service_nanos.fetch_add(nanos, Ordering::SeqCst);
        }
        if to_client.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = to_client.shutdown(Shutdown::Write);
    let _ = upstream_half.join();
    Ok(())
}
