//! A local Lambda Runtime API: just the endpoints a `lambda_runtime` binary calls
//! (`GET /2018-06-01/runtime/invocation/next`, `POST .../invocation/{id}/response`, and the two
//! error endpoints), on plain std TCP so the emulator adds no dependency and no runtime of its
//! own to what is measured.
//!
//! The driver queues invocations, spawns a bootstrap with `AWS_LAMBDA_RUNTIME_API` pointing
//! here, and reads back when the first `next` poll arrived and when each response came in.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PREFIX: &str = "/2018-06-01/runtime";

/// One event to hand to the function.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub event: Arc<Vec<u8>>,
}

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeKind {
    Response,
    InvocationError,
    InitError,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub request_id: String,
    pub at: Instant,
    pub kind: OutcomeKind,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct State {
    /// Bumped by [`RuntimeApi::reset`]: a connection of an earlier (killed) process that is
    /// still waiting for an invocation must not take one meant for the next process.
    generation: u64,
    pending: VecDeque<Invocation>,
    first_poll: Option<Instant>,
    outcomes: Vec<Outcome>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The emulator; it serves until the process exits.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&accepting);
                // A connection belongs to the process that opened it: once that process is
                // reset away, a request still in flight on it (a `next` poll sent just before
                // the kill) must not take the next process's invocation.
                let generation = shared.lock().generation;
                std::thread::spawn(move || {
                    // A killed process drops its connections mid-request: nothing to report.
                    let _ = serve_connection(stream, &shared, generation);
                });
            }
        });
        Ok(Self { addr, shared })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Forgets everything of the previous process.
    pub fn reset(&self) {
        let mut state = self.shared.lock();
        state.generation += 1;
        state.pending.clear();
        state.first_poll = None;
        state.outcomes.clear();
        self.shared.changed.notify_all();
    }

    pub fn enqueue(&self, invocation: Invocation) {
        self.shared.lock().pending.push_back(invocation);
        self.shared.changed.notify_all();
    }

    /// When the first `next` poll arrived since [`reset`](Self::reset), waiting up to `timeout`.
    pub fn wait_first_poll(&self, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(at) = state.first_poll {
                return Some(at);
            }
            // An init error is an answer too: no poll will come.
            if !state.outcomes.is_empty() {
                return None;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// The first `count` outcomes since [`reset`](Self::reset), or as many as came within
    /// `timeout`.
    pub fn wait_outcomes(&self, count: usize, timeout: Duration) -> Vec<Outcome> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            let init_failed = state
                .outcomes
                .iter()
                .any(|outcome| outcome.kind == OutcomeKind::InitError);
            if state.outcomes.len() >= count || init_failed {
                return state.outcomes.clone();
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return state.outcomes.clone();
            };
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
    }
}

pub(crate) struct Request {
    method: String,
    path: String,
    pub(crate) body: Vec<u8>,
}

fn serve_connection(stream: TcpStream, shared: &Shared, generation: u64) -> io::Result<()> {
    // Small request/response pairs: Nagle's algorithm would add delayed-ACK stalls.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader)? {
        if shared.lock().generation != generation {
            return Ok(());
        }
        let path = request.path.strip_prefix(PREFIX).unwrap_or(&request.path);
        match (request.method.as_str(), path) {
            ("GET", "/invocation/next") => match next_invocation(shared, generation) {
                Some(invocation) => write_invocation(&mut writer, &invocation)?,
                // A reset while this poll waited: its process is gone.
                None => return Ok(()),
            },
            ("POST", "/init/error") => {
                record(shared, generation, "", OutcomeKind::InitError, request.body);
                write_accepted(&mut writer)?;
            }
            ("POST", path) if path.starts_with("/invocation/") => {
                let rest = &path["/invocation/".len()..];
                let (request_id, kind) = match rest.rsplit_once('/') {
                    Some((id, "response")) => (id, OutcomeKind::Response),
                    Some((id, "error")) => (id, OutcomeKind::InvocationError),
                    _ => (rest, OutcomeKind::InvocationError),
                };
                record(shared, generation, request_id, kind, request.body);
                write_accepted(&mut writer)?;
            }
            _ => write_status(&mut writer, "404 Not Found", b"{}")?,
        }
    }
    Ok(())
}

fn next_invocation(shared: &Shared, generation: u64) -> Option<Invocation> {
    let mut state = shared.lock();
    if state.generation != generation {
        return None;
    }
    state.first_poll.get_or_insert_with(Instant::now);
    shared.changed.notify_all();
    loop {
        if state.generation != generation {
            return None;
        }
        if let Some(invocation) = state.pending.pop_front() {
            return Some(invocation);
        }
        state = shared
            .changed
            .wait_timeout(state, Duration::from_millis(200))
            .unwrap()
            .0;
    }
}

fn record(shared: &Shared, generation: u64, request_id: &str, kind: OutcomeKind, body: Vec<u8>) {
    let at = Instant::now();
    let mut state = shared.lock();
    if state.generation == generation {
        state.outcomes.push(Outcome {
            request_id: request_id.to_owned(),
            at,
            kind,
            body,
        });
        shared.changed.notify_all();
    }
}

fn write_invocation(writer: &mut TcpStream, invocation: &Invocation) -> io::Result<()> {
    let deadline_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| now.as_millis() + 60_000)
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 200 OK\r\n\
         Content-Type: application/json\r\n\
         Lambda-Runtime-Aws-Request-Id: {id}\r\n\
         Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
         Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
         Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0\r\n\
         Content-Length: {length}\r\n\r\n",
        id = invocation.request_id,
        length = invocation.event.len(),
    );
    let mut message = head.into_bytes();
    message.extend_from_slice(&invocation.event);
    writer.write_all(&message)
}

fn write_accepted(writer: &mut TcpStream) -> io::Result<()> {
    write_status(writer, "202 Accepted", br#"{"status":"OK"}"#)
}

fn write_status(writer: &mut TcpStream, status: &str, body: &[u8]) -> io::Result<()> {
    let mut message = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    message.extend_from_slice(body);
    writer.write_all(&message)
}

/// One HTTP/1.1 request, its body read by `Content-Length` or chunked encoding; `None` at a
/// clean end of the connection.
pub(crate) fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Some(Request { method, path, body }))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers, then the blank line that ends the message.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}
