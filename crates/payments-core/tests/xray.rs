//! The functions' DynamoDB client, on DynamoDB Local, reports each call to the request it is
//! made for: an X-Ray subsegment to the daemon when the request's trace is sampled, and the
//! capacity the call consumed. The daemon here is a UDP socket of the test's.

use std::net::UdpSocket;
use std::time::Duration;

use payments_core::config::dynamodb_client_with;
use payments_core::domain::{ExpectedVersion, PaymentId, Timestamp, Version};
use payments_core::repository::DynamoDbRepository;
use payments_core::service::Payments;
use payments_core::telemetry::{DynamoDbTelemetry, in_request, xray};
use payments_core::testing::{TestTable, endpoint, example_attributes, organisation};
use serde_json::Value;

const ROOT: &str = "1-6751a2b3-0123456789abcdef01234567";

fn trace(parent: &str, sampled: bool) -> Option<xray::TraceContext> {
    xray::TraceContext::parse(&format!(
        "Root={ROOT};Parent={parent};Sampled={}",
        u8::from(sampled)
    ))
}

/// A daemon: the socket, and a client whose subsegments go to it.
async fn daemon() -> (UdpSocket, aws_sdk_dynamodb::Client) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let address = socket.local_addr().unwrap().to_string();
    let telemetry = DynamoDbTelemetry::new(xray::Daemon::at(&address));
    let client = dynamodb_client_with(Some(&endpoint()), telemetry).await;
    (socket, client)
}

/// The next subsegment the daemon received.
fn received(socket: &UdpSocket) -> Value {
    let mut buffer = [0u8; 65_536];
    let length = socket.recv(&mut buffer).expect("a subsegment within 5 s");
    let text = std::str::from_utf8(&buffer[..length]).unwrap();
    let (header, document) = text.split_once('\n').expect("a header line");
    assert_eq!(header, r#"{"format":"json","version":1}"#);
    serde_json::from_str(document).unwrap()
}

#[tokio::test]
async fn calls_of_a_sampled_request_are_subsegments_of_its_invocation() {
    let table = TestTable::create().await;
    let (socket, client) = daemon().await;
    let payments = Payments::new(DynamoDbRepository::new(client, &table.name));
    let organisation = organisation();

    let (created, capacity) = in_request(
        trace("aaaaaaaaaaaaaaaa", true),
        payments.create(organisation, example_attributes(), None),
    )
    .await;
    let created = created.unwrap();

    let write = received(&socket);
    assert_eq!(write["name"], "DynamoDB");
    assert_eq!(write["namespace"], "aws");
    assert_eq!(write["type"], "subsegment");
    assert_eq!(write["trace_id"], ROOT);
    assert_eq!(write["parent_id"], "aaaaaaaaaaaaaaaa");
    assert_eq!(write["aws"]["operation"], "TransactWriteItems");
    assert_eq!(write["aws"]["table_name"], table.name.as_str());
    assert_eq!(write["aws"]["retries"], 0);
    assert_eq!(write["http"]["response"]["status"], 200);
    assert!(write["aws"]["request_id"].is_string());
    assert!(write.get("error").is_none() && write.get("fault").is_none());
    assert!(write["start_time"].as_f64().unwrap() <= write["end_time"].as_f64().unwrap());
    assert_eq!(
        capacity.write, 6.0,
        "two items, transactional: DynamoDB's own count"
    );
    assert_eq!(capacity.read, 0.0);

    // A stale update: the conditional write is refused (an error, the cause named), then the
    // payment is read to tell why.
    let stale = ExpectedVersion::Exactly(Version::new(7).unwrap());
    let (updated, capacity) = in_request(
        trace("bbbbbbbbbbbbbbbb", true),
        payments.update(organisation, created.id(), stale, example_attributes()),
    )
    .await;
    assert!(updated.is_err());
    let refused = received(&socket);
    assert_eq!(refused["aws"]["operation"], "TransactWriteItems");
    assert_eq!(refused["parent_id"], "bbbbbbbbbbbbbbbb");
    assert_eq!(refused["http"]["response"]["status"], 400);
    assert_eq!(refused["error"], true);
    assert!(refused.get("fault").is_none());
    assert_eq!(
        refused["cause"]["exceptions"][0]["type"],
        "TransactionCanceledException"
    );
    let read = received(&socket);
    assert_eq!(read["aws"]["operation"], "GetItem");
    assert_eq!(read["http"]["response"]["status"], 200);
    assert_eq!(
        capacity.read, 1.0,
        "one strongly consistent read of a small item"
    );

    // Neither an unsampled request nor a call outside any request sends a subsegment: the
    // next one the daemon gets is the sampled read's after them.
    let (_, capacity) = in_request(
        trace("cccccccccccccccc", false),
        payments.get(organisation, created.id()),
    )
    .await;
    assert_eq!(capacity.read, 1.0, "capacity is counted, sampled or not");
    payments.get(organisation, created.id()).await.unwrap();
    let (_, _) = in_request(
        trace("dddddddddddddddd", true),
        payments.get(organisation, created.id()),
    )
    .await;
    let next = received(&socket);
    assert_eq!(next["parent_id"], "dddddddddddddddd");
    assert_eq!(next["aws"]["operation"], "GetItem");
}

#[tokio::test]
async fn a_call_that_fails_is_flagged_with_its_cause() {
    let (socket, client) = daemon().await;
    let payments = Payments::new(DynamoDbRepository::new(client, "no-such-table"));

    let (found, capacity) = in_request(
        trace("eeeeeeeeeeeeeeee", true),
        payments.get(organisation(), PaymentId::generate(Timestamp::now())),
    )
    .await;

    assert!(found.is_err());
    assert_eq!(capacity.read, 0.0);
    let failed = received(&socket);
    assert_eq!(failed["aws"]["operation"], "GetItem");
    assert_eq!(failed["aws"]["table_name"], "no-such-table");
    assert_eq!(failed["http"]["response"]["status"], 400);
    assert_eq!(failed["error"], true);
    assert_eq!(
        failed["cause"]["exceptions"][0]["type"],
        "ResourceNotFoundException"
    );
}
