//! X-Ray subsegments for the calls a function makes, sent to the X-Ray daemon the way the
//! X-Ray SDKs send them: one UDP datagram per subsegment, a header line and the document.
//!
//! In Lambda, with `Tracing: Active`, the invocation's segment is Lambda's own; its id is the
//! `Parent` of the trace header the invocation carries, and a subsegment sent with that
//! `parent_id` appears under it. Only sampled invocations (`Sampled=1`) send anything. The
//! daemon is Lambda's, at `AWS_XRAY_DAEMON_ADDRESS`; outside Lambda that is unset and nothing is
//! sent. A datagram is fire-and-forget: a daemon that is not there costs one failed `send_to`.

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::time::SystemTime;

/// The invocation's place in a trace, from Lambda's trace header
/// (`Root=1-…;Parent=…;Sampled=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub root: String,
    pub parent: String,
    pub sampled: bool,
}

impl TraceContext {
    /// The context of `header`, if it names a root and a parent.
    pub fn parse(header: &str) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", value)) => root = Some(value),
                Some(("Parent", value)) => parent = Some(value),
                Some(("Sampled", value)) => sampled = value == "1",
                _ => {}
            }
        }
        Some(Self {
            root: root.filter(|r| !r.is_empty())?.to_owned(),
            parent: parent.filter(|p| !p.is_empty())?.to_owned(),
            sampled,
        })
    }
}

/// Where subsegments go: the daemon's UDP address, and a socket to send from.
#[derive(Debug)]
pub struct Daemon {
    address: SocketAddr,
    socket: UdpSocket,
}

impl Daemon {
    /// The daemon `AWS_XRAY_DAEMON_ADDRESS` names (Lambda sets it when tracing is active), if
    /// any.
    pub fn from_env() -> Option<Self> {
        Self::at(&std::env::var("AWS_XRAY_DAEMON_ADDRESS").ok()?)
    }

    /// The daemon at `address`: `host:port`, or the SDKs' `tcp:host:port udp:host:port` form
    /// (segments go over UDP). `None` if it is neither, or no socket can be bound.
    pub fn at(address: &str) -> Option<Self> {
        let udp = address
            .split_whitespace()
            .find_map(|part| part.strip_prefix("udp:"))
            .unwrap_or(address);
        let address: SocketAddr = udp.parse().ok()?;
        let local: SocketAddr = if address.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local).ok()?;
        // Never wait on the daemon: a full socket buffer drops the subsegment.
        socket.set_nonblocking(true).ok()?;
        Some(Self { address, socket })
    }

    /// Sends `subsegment` of `trace`, if `trace` is sampled.
    pub fn send(&self, trace: &TraceContext, subsegment: &Subsegment<'_>) {
        if trace.sampled {
            let datagram = subsegment.datagram(trace);
            // Best effort, as every X-Ray SDK's emitter: a lost subsegment is no error of the
            // request's.
            let _ = self.socket.send_to(datagram.as_bytes(), self.address);
        }
    }
}

/// One call to an AWS service, as X-Ray shows it under the invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Subsegment<'a> {
    /// The service, as the X-Ray SDKs name it (`DynamoDB`).
    pub service: &'a str,
    /// The API operation (`GetItem`).
    pub operation: &'a str,
    pub region: &'a str,
    pub table_name: Option<&'a str>,
    /// The service's request id (`x-amzn-requestid`).
    pub request_id: Option<&'a str>,
    pub started: SystemTime,
    pub ended: SystemTime,
    /// The HTTP status of the last attempt; none if no response came.
    pub status: Option<u16>,
    /// Attempts after the first.
    pub retries: u32,
    /// The service's error code (`ConditionalCheckFailedException`), if it answered one.
    pub error_code: Option<&'a str>,
}

impl Subsegment<'_> {
    /// The header line and the subsegment document, as the daemon reads them.
    pub fn datagram(&self, trace: &TraceContext) -> String {
        let seconds = |time: SystemTime| {
            time.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64())
        };
        let throttled = self.status == Some(429)
            || self.error_code.is_some_and(|code| {
                code.contains("Throttl") || code == "ProvisionedThroughputExceededException"
            });
        let fault = self.status.is_none_or(|status| status >= 500);
        let error = !fault && self.status.is_some_and(|status| status >= 400);
        let mut aws = serde_json::json!({
            "operation": self.operation,
            "region": self.region,
            "retries": self.retries,
        });
        if let Some(table) = self.table_name {
            aws["table_name"] = table.into();
        }
        if let Some(request_id) = self.request_id {
            aws["request_id"] = request_id.into();
        }
        let mut document = serde_json::json!({
            "name": self.service,
            "id": segment_id(),
            "trace_id": trace.root,
            "parent_id": trace.parent,
            "type": "subsegment",
            "namespace": "aws",
            "start_time": seconds(self.started),
            "end_time": seconds(self.ended),
            "aws": aws,
        });
        if let Some(status) = self.status {
            document["http"] = serde_json::json!({"response": {"status": status}});
        }
        if fault {
            document["fault"] = true.into();
        } else if error {
            document["error"] = true.into();
        }
        if throttled {
            document["throttle"] = true.into();
        }
        if let Some(code) = self.error_code {
            document["cause"] = serde_json::json!({
                "exceptions": [{"id": segment_id(), "type": code, "remote": true}]
            });
        }
        format!("{{\"format\":\"json\",\"version\":1}}\n{document}")
    }
}

/// A new segment id: 64 random bits, as 16 lowercase hex digits.
fn segment_id() -> String {
    let random = uuid::Uuid::new_v4();
    let mut id = String::with_capacity(16);
    for byte in &random.as_bytes()[..8] {
        let _ = write!(id, "{byte:02x}");
    }
    id
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn subsegment(status: Option<u16>, error_code: Option<&str>) -> Subsegment<'_> {
        let started = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_000_000_250);
        Subsegment {
            service: "DynamoDB",
            operation: "GetItem",
            region: "eu-west-1",
            table_name: Some("payments"),
            request_id: Some("REQ"),
            started,
            ended: started + Duration::from_millis(5),
            status,
            retries: 1,
            error_code,
        }
    }

    fn document(datagram: &str) -> serde_json::Value {
        let (header, document) = datagram.split_once('\n').expect("a header line");
        assert_eq!(header, r#"{"format":"json","version":1}"#);
        serde_json::from_str(document).unwrap()
    }

    #[test]
    fn the_trace_header_gives_root_parent_and_sampling() {
        let trace = TraceContext::parse(HEADER).unwrap();
        assert_eq!(trace.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(trace.parent, "53995c3f42cd8ad8");
        assert!(trace.sampled);
        let unsampled = TraceContext::parse("Root=1-a-b;Parent=c;Sampled=0").unwrap();
        assert!(!unsampled.sampled);
        assert_eq!(TraceContext::parse("Root=1-a-b;Sampled=1"), None);
        assert_eq!(TraceContext::parse(""), None);
    }

    #[test]
    fn a_call_is_a_subsegment_of_the_invocation() {
        let trace = TraceContext::parse(HEADER).unwrap();
        let doc = document(&subsegment(Some(200), None).datagram(&trace));
        assert_eq!(doc["name"], "DynamoDB");
        assert_eq!(doc["type"], "subsegment");
        assert_eq!(doc["namespace"], "aws");
        assert_eq!(doc["trace_id"], trace.root);
        assert_eq!(doc["parent_id"], trace.parent);
        let id = doc["id"].as_str().unwrap();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(doc["start_time"], 1_796_000_000.25);
        assert_eq!(doc["end_time"], 1_796_000_000.255);
        assert_eq!(doc["aws"]["operation"], "GetItem");
        assert_eq!(doc["aws"]["table_name"], "payments");
        assert_eq!(doc["aws"]["request_id"], "REQ");
        assert_eq!(doc["aws"]["retries"], 1);
        assert_eq!(doc["http"]["response"]["status"], 200);
        for flag in ["error", "fault", "throttle", "cause"] {
            assert!(doc.get(flag).is_none(), "{flag} on a success");
        }
    }

    #[test]
    fn outcomes_are_flagged_as_x_ray_does() {
        let trace = TraceContext::parse(HEADER).unwrap();
        let condition = document(
            &subsegment(Some(400), Some("ConditionalCheckFailedException")).datagram(&trace),
        );
        assert_eq!(condition["error"], true);
        assert!(condition.get("fault").is_none());
        assert_eq!(
            condition["cause"]["exceptions"][0]["type"],
            "ConditionalCheckFailedException"
        );
        let throttled = document(
            &subsegment(Some(400), Some("ProvisionedThroughputExceededException")).datagram(&trace),
        );
        assert_eq!(throttled["error"], true);
        assert_eq!(throttled["throttle"], true);
        let server = document(&subsegment(Some(500), None).datagram(&trace));
        assert_eq!(server["fault"], true);
        let no_answer = document(&subsegment(None, None).datagram(&trace));
        assert_eq!(no_answer["fault"], true);
        assert!(no_answer.get("http").is_none());
    }

    #[test]
    fn the_daemon_address_takes_both_forms() {
        assert_eq!(
            Daemon::at("127.0.0.1:2000").unwrap().address,
            "127.0.0.1:2000".parse().unwrap()
        );
        assert_eq!(
            Daemon::at("tcp:127.0.0.1:2000 udp:127.0.0.2:2001")
                .unwrap()
                .address,
            "127.0.0.2:2001".parse().unwrap()
        );
        assert!(Daemon::at("localhost").is_none());
    }
}
