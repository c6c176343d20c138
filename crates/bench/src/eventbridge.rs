//! A local EventBridge for the `payment-events` bootstrap (its `EVENTBRIDGE_ENDPOINT`): it
//! accepts every entry of every `PutEvents` and keeps nothing, so a run of many invocations
//! does not grow the driver. Like [`crate::dynamodb_proxy`] for DynamoDB Local, it adds up its
//! own answering time, which is in a cold start's first response but is not the function's.
//!
//! Plain std TCP and HTTP/1.1, with the Runtime API emulator's request reader: no runtime of
//! its own beside what is measured. The SDK signs its requests; nothing here checks them.

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::runtime_api::read_request;

/// `EVENT_BUS_NAME` of the bootstraps; this EventBridge has one bus, whatever its name.
pub const BUS_NAME: &str = "payments-bench";

#[derive(Default)]
struct Shared {
    /// Nanoseconds spent answering since the last reset.
    service_nanos: AtomicU64,
    generation: AtomicU64,
}

/// The server; it serves until the process exits.
pub struct LocalEventBridge {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl LocalEventBridge {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || {
                    // A killed process drops its connections mid-request: nothing to report.
                    let _ = serve_connection(stream, &shared);
                });
            }
        });
        Ok(Self { addr, shared })
    }

    /// `http://127.0.0.1:<port>`, for `EVENTBRIDGE_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn reset(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        self.shared.service_nanos.store(0, Ordering::SeqCst);
    }

    /// The time taken to answer since the last [`reset`](Self::reset): from a request read in
    /// full to its response ready to write.
    pub fn service_time(&self) -> Duration {
        Duration::from_nanos(self.shared.service_nanos.load(Ordering::SeqCst))
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    // Small request/response pairs: Nagle's algorithm would add delayed-ACK stalls.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader)? {
        let read = Instant::now();
        // A request of a process reset away is not counted against the next one.
        let generation = shared.generation.load(Ordering::SeqCst);
        let response = answer(&request.body);
        // Counted before the function can see a byte of the answer, so that the driver,
        // once it has the function's response, reads a total that includes it.
        if generation == shared.generation.load(Ordering::SeqCst) {
            let nanos = u64::try_from(read.elapsed().as_nanos()).unwrap_or(u64::MAX);
            shared.service_nanos.fetch_add(nanos, Ordering::SeqCst);
        }
        writer.write_all(&response)?;
    }
    Ok(())
}

/// Every entry of a `PutEvents` accepted, with one result per entry as EventBridge answers;
/// anything else refused, so that a request this server does not understand fails the run
/// rather than passing as published.
fn answer(body: &[u8]) -> Vec<u8> {
    let entries = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|request| request["Entries"].as_array().map(Vec::len));
    let (status, body) = match entries {
        Some(entries) => {
            let results: Vec<Value> = (0..entries)
                .map(|_| json!({ "EventId": uuid::Uuid::new_v4().to_string() }))
                .collect();
            (
                "200 OK",
                json!({ "FailedEntryCount": 0, "Entries": results }),
            )
        }
        None => (
            "400 Bad Request",
            json!({
                "__type": "ValidationException",
                "message": "the bench's EventBridge answers PutEvents only",
            }),
        ),
    };
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status}\r\n\
         Content-Type: application/x-amz-json-1.1\r\n\
         x-amzn-RequestId: {request_id}\r\n\
         Content-Length: {length}\r\n\r\n\
         {body}",
        request_id = uuid::Uuid::new_v4(),
        length = body.len(),
    )
    .into_bytes()
}
