//! Money is neither lost nor duplicated under retries, races and outages.
//!
//! Races run truly concurrently: a multi-thread runtime, one task per request, all released
//! together by a [`Barrier`]. Requests are API Gateway events from `events/`, changed where a
//! test needs it, each with the deadline Lambda gives an invocation of the functions (their
//! `Timeout` in template.yaml), served by [`http::serve`] and the functions' own handlers
//! ([`Function::handle`]), so statuses, headers and problem+json bodies are the ones a client
//! would see from the code that ships.
//!
//! Storage is a real DynamoDB Local (`DYNAMODB_ENDPOINT`, one table per test); the outage test
//! starts and stops its own. Throttling and slow answers come from in-process DynamoDBs that
//! answer from a script, behind a client configured exactly as the functions' one
//! ([`dynamodb_client`]) but for its HTTP connector and (for throttling) its backoff.
//!
//! The clients this file builds itself get retry token buckets of their own: the SDK otherwise
//! shares one bucket among all the DynamoDB clients of a process, and the outage and
//! throttling tests would drain the retry quota of the tests running beside them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{HttpClient, IntoShared, RuntimeComponents};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_types::body::SdkBody;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use tokio::sync::{Barrier, RwLock};
use tokio::task::JoinSet;

use payments_core::config::{
    ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, DEFAULT_ORGANISATION_CLAIM, MAX_ATTEMPTS, OPERATION_TIMEOUT,
    dynamodb_client,
};
use payments_core::domain::{OrganisationId, Payment, PaymentId, Timestamp};
use payments_core::http::{self, PROBLEM_JSON};
use payments_core::identity::Identity;
use payments_core::repository::{
    DynamoDbRepository, HistoryEntry, PaymentRepository, TableDefinition,
};
use payments_core::service::Payments;
use payments_core::testing::{
    Instrumented, TestTable, events_dir, example_attributes, organisation, stored_item,
};
use payments_core::{App, PaymentError};

use handler_tests::Function;

/// The functions' `Timeout` in template.yaml (`Globals.Function.Timeout`): Lambda's deadline for
/// each invocation, after which an answer never reaches a client.
fn function_timeout() -> Duration {
    static TIMEOUT: OnceLock<Duration> = OnceLock::new();
    *TIMEOUT.get_or_init(|| {
        let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
        let template: serde_norway::Value = serde_norway::from_str(&text).expect("template.yaml");
        let seconds = template["Globals"]["Function"]["Timeout"]
            .as_u64()
            .expect("template.yaml sets Globals.Function.Timeout in seconds");
        Duration::from_secs(seconds)
    })
}

/// Tests that load a DynamoDB Local share it (read); the 500-create burst has it to itself
/// (write), so that its queue does not push the others' calls past their timeouts.
/// (`cargo test` runs as many tests at once as there are cores: two, here.)
static STORAGE: RwLock<()> = RwLock::const_new(());

// ---------------------------------------------------------------------------------------------
// Concurrent writes
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_puts_with_one_if_match_have_one_winner_and_thirty_one_412s() {
    let _shared = STORAGE.read().await;
    let table = TestTable::create().await;
    let app = table.app().await;
    let org = organisation();
    let id = table
        .payments()
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();
    let put = Event::fixture("update-payment", "updated")
        .organisation(org)
        .payment(id)
        .header("if-match", "\"1\"");

    let answers = together(32, |_| {
        let request = put.request();
        async move { call(app, Function::UpdatePayment, request).await }
    })
    .await;

    let winners: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one PUT wins: {answers:#?}");
    assert_eq!(winners[0].header("etag"), Some("\"2\""));
    assert_eq!(winners[0].body["version"], 2);
    for answer in answers.iter().filter(|a| a.status != 200) {
        answer.assert_problem(412, "/problems/precondition-failed");
    }
    let stored = table.payments().get(org, id).await.unwrap();
    assert_eq!(stored.version().get(), 2);
    assert_eq!(
        serde_json::to_value(&stored).unwrap(),
        winners[0].body,
        "the stored payment is the one the winner was answered"
    );
    let history = table.payments().history(org, id).await.unwrap();
    assert_eq!(
        versions_and_changes(&history),
        [(1, "created"), (2, "updated")]
    );
    assert_eq!(table.count("PAYMENT#", "CURRENT").await, 1);
    assert_eq!(table.count("PAYMENT#", "VERSION#").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_posts_with_one_idempotency_key_create_one_payment_and_all_answer_it() {
    let _shared = STORAGE.read().await;
    let table = TestTable::create().await;
    let app = table.app().await;
    let org = organisation();
    let post = Event::fixture("create-payment", "created-with-idempotency-key")
        .organisation(org)
        .header(
            "idempotency-key",
            &format!("reliability-{}", uuid::Uuid::new_v4()),
        );

    let answers = together(32, |_| {
        let request = post.request();
        async move { call(app, Function::CreatePayment, request).await }
    })
    .await;

    // 409 (writers kept colliding) and 503 are the documented retry statuses: the client
    // retries with the same key.
    let mut retried = Vec::new();
    for answer in answers {
        retried.push(retried_until_answered(app, Function::CreatePayment, &post, answer).await);
    }
    let answers = retried;
    assert!(
        answers.iter().all(|a| a.status == 201),
        "every POST answers 201: {answers:#?}"
    );
    let ids: BTreeSet<&str> = answers.iter().map(|a| a.id()).collect();
    assert_eq!(ids.len(), 1, "every POST answers the same payment: {ids:?}");
    let id = *ids.first().unwrap();
    for answer in &answers {
        assert_eq!(answer.header("location"), Some(&*format!("/payments/{id}")));
        assert_eq!(answer.header("etag"), Some("\"1\""));
        assert_eq!(
            answer.body, answers[0].body,
            "the same payment, byte for byte"
        );
    }
    let first = answers
        .iter()
        .filter(|a| a.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(first, 1, "one POST created it, the others replayed it");
    assert_eq!(table.count("PAYMENT#", "CURRENT").await, 1);
    assert_eq!(table.count("PAYMENT#", "VERSION#").await, 1);
    assert_eq!(table.count("IDEMPOTENCY#", "IDEMPOTENCY").await, 1);
}

/// Each create carries its own `Idempotency-Key`, so that a client can retry one answered 503
/// (see [`patient_app`]) without risking a second payment: the counts below prove it did not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_creates_are_each_listed_once_in_their_own_organisation() {
    let _alone = STORAGE.write().await;
    let table = TestTable::create().await;
    let app = patient_app(&table);
    let organisations = [organisation(), organisation(), organisation()];
    let post = Event::fixture("create-payment", "created-with-idempotency-key");

    let answers = together(500, |i| {
        let post = post
            .clone()
            .organisation(organisations[i % 3])
            .header("idempotency-key", &format!("five-hundred-{i}"));
        let request = post.request();
        async move {
            let first = call(app, Function::CreatePayment, request).await;
            retried_until_answered(app, Function::CreatePayment, &post, first).await
        }
    })
    .await;

    let mut created: HashMap<OrganisationId, BTreeSet<String>> = HashMap::new();
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer.status, 201, "create {i}: {answer:#?}");
        let org = organisations[i % 3];
        assert_eq!(answer.body["organisation_id"], org.to_string());
        created
            .entry(org)
            .or_default()
            .insert(answer.id().to_owned());
    }
    let mut total = 0;
    for org in organisations {
        let pages = list_all(app, org, 17).await;
        let listed: Vec<&Value> = pages.iter().flatten().collect();
        let ids: BTreeSet<String> = listed.iter().map(|p| text(&p["id"])).collect();
        assert_eq!(ids.len(), listed.len(), "no payment is listed twice");
        assert_eq!(ids, created[&org], "an organisation lists exactly its own");
        assert!(
            listed
                .iter()
                .all(|p| p["organisation_id"] == org.to_string())
        );
        let (last, full) = pages.split_last().unwrap();
        assert!(full.iter().all(|page| page.len() == 17));
        assert!((1..=17).contains(&last.len()));
        let created_at: Vec<String> = listed.iter().map(|p| text(&p["created_at"])).collect();
        assert!(
            created_at.windows(2).all(|pair| pair[0] >= pair[1]),
            "newest first"
        );
        total += listed.len();
    }
    assert_eq!(total, 500);
    let items = table.items().await;
    let count = |sk: &str| items.iter().filter(|i| item_text(i, "sk") == sk).count();
    assert_eq!(count("CURRENT"), 500);
    assert_eq!(count("VERSION#00000000000000000001"), 500);
    assert_eq!(count("IDEMPOTENCY"), 500);
    assert_eq!(items.len(), 1500, "and nothing else");
    // A thousand-odd items that no later test reads: give DynamoDB Local its memory back.
    table.delete().await;
}

/// What a well-behaved client does with the documented retry statuses (409, 503): sends the
/// same request again after `Retry-After`, doubled on each retry and jittered so that clients
/// turned away together do not come back together; a bounded number of times.
async fn retried_until_answered(
    app: &App,
    route: Function,
    event: &Event,
    mut answer: Answer,
) -> Answer {
    for retry in 0..6 {
        if ![409, 503].contains(&answer.status) {
            break;
        }
        let slug = if answer.status == 409 {
            "conflict"
        } else {
            "unavailable"
        };
        answer.assert_retryable_problem(answer.status, &format!("/problems/{slug}"));
        let seconds: u64 = answer.header("retry-after").unwrap().parse().unwrap();
        let backoff = Duration::from_secs(seconds << retry);
        let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
        tokio::time::sleep(backoff.mul_f64(0.5 + jitter)).await;
        answer = call(app, route, event.request()).await;
    }
    answer
}

/// The functions' app on `table`, with attempt and operation timeouts long enough for DynamoDB
/// Local's queue. DynamoDB Local runs one transaction at a time (its rate on this project's
/// machines: docs/benchmarks.md, "Figures the code refers to"), so 500 sent at once wait
/// seconds: past [`ATTEMPT_TIMEOUT`], which is tuned for DynamoDB itself, where requests do not
/// queue behind each other. With the functions' timeouts most of the burst times out, and the
/// SDK's retries of attempts that DynamoDB Local is still working through only lengthen its
/// queue. What the timeouts do is tested on its own, below; a request that still runs out of
/// time answers 503, and the client retries it with its `Idempotency-Key`.
fn patient_app(table: &TestTable) -> &'static App {
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(Duration::from_secs(60))
        .operation_attempt_timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build();
    let config = table.client.config().to_builder().timeout_config(timeouts);
    let client = own_retry_partition(Client::from_conf(config.build()));
    Box::leak(Box::new(app_on(DynamoDbRepository::new(
        client,
        &table.name,
    ))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_update_racing_a_delete_never_resurrects_the_payment() {
    let _shared = STORAGE.read().await;
    let table = TestTable::create().await;
    let app = table.app().await;
    let org = organisation();

    for round in 0..6 {
        let id = table
            .payments()
            .create(org, example_attributes(), None)
            .await
            .unwrap()
            .id();
        let delete = Event::fixture("delete-payment", "deleted-without-if-match")
            .organisation(org)
            .payment(id);
        let put = Event::fixture("update-payment", "updated")
            .organisation(org)
            .payment(id);
        // One DELETE against PUTs at the version read (If-Match "1") and PUTs at any version.
        let answers = together(8, |i| {
            let (route, request) = match i {
                0 => (Function::DeletePayment, delete.request()),
                1..=4 => (
                    Function::UpdatePayment,
                    put.clone().header("if-match", "\"1\"").request(),
                ),
                _ => (
                    Function::UpdatePayment,
                    put.clone().header("if-match", "*").request(),
                ),
            };
            async move { call(app, route, request).await }
        })
        .await;

        // 409 asks the client to retry; 412 is today's answer to a DELETE that lost three races
        // in a row, which `writers_without_a_version_that_keep_losing_races_get_409` pins down.
        let mut deleted = answers[0].status;
        assert!(
            [204, 409, 412].contains(&deleted),
            "round {round}: {:#?}",
            answers[0]
        );
        for answer in &answers[1..] {
            assert!(
                [200, 404, 409, 412].contains(&answer.status),
                "round {round}: {answer:#?}"
            );
        }
        for _ in 0..5 {
            if deleted == 204 {
                break;
            }
            deleted = call(app, Function::DeletePayment, delete.request())
                .await
                .status;
        }
        assert_eq!(deleted, 204, "round {round}: the payment is deleted");

        let get = Event::fixture("get-payment", "found")
            .organisation(org)
            .payment(id);
        let after = call(app, Function::GetPayment, get.request()).await;
        after.assert_problem(404, "/problems/not-found");
        let history = table.payments().history(org, id).await.unwrap();
        let changes = versions_and_changes(&history);
        let last = changes.len() as u64;
        assert!(
            changes
                .iter()
                .enumerate()
                .all(|(i, (v, _))| *v == i as u64 + 1),
            "round {round}: versions follow each other: {changes:?}"
        );
        assert_eq!(changes[0].1, "created");
        assert_eq!(changes.last().unwrap().1, "deleted", "round {round}");
        assert_eq!(changes.iter().filter(|(_, c)| *c == "deleted").count(), 1);
        // No acknowledged update is lost, none is recorded twice, none follows the delete.
        let mut acknowledged: Vec<u64> = answers[1..]
            .iter()
            .filter(|a| a.status == 200)
            .map(|a| a.body["version"].as_u64().unwrap())
            .collect();
        acknowledged.sort_unstable();
        let updated: Vec<u64> = changes
            .iter()
            .filter(|(_, c)| *c == "updated")
            .map(|(v, _)| *v)
            .collect();
        assert_eq!(acknowledged, updated, "round {round}");
        assert!(updated.iter().all(|v| *v < last));

        let late = put.clone().header("if-match", "*").request();
        let late = call(app, Function::UpdatePayment, late).await;
        late.assert_problem(404, "/problems/not-found");
        assert_eq!(table.payments().history(org, id).await.unwrap(), history);
    }
    assert_eq!(table.count("PAYMENT#", "CURRENT").await, 0);
}

/// A writer without a version to match (DELETE without `If-Match`, PUT with `If-Match: *`)
/// that loses the race to another writer on every one of its attempts asked for no
/// precondition, so 412 ("If-Match does not match") is the wrong answer: the README documents
/// 409 with `Retry-After` for writers that keep colliding.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_without_a_version_that_keep_losing_races_get_409_not_412() {
    let _shared = STORAGE.read().await;
    let table = TestTable::create().await;
    let app = app_on(Instrumented::losing_every_race(table.repository()));
    let org = organisation();
    let id = table
        .payments()
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();
    let delete = Event::fixture("delete-payment", "deleted-without-if-match")
        .organisation(org)
        .payment(id);
    let put = Event::fixture("update-payment", "updated")
        .organisation(org)
        .payment(id)
        .header("if-match", "*");

    let deleted = call(&app, Function::DeletePayment, delete.request()).await;
    let updated = call(&app, Function::UpdatePayment, put.request()).await;

    deleted.assert_retryable_problem(409, "/problems/conflict");
    updated.assert_retryable_problem(409, "/problems/conflict");
    assert!(table.payments().get(org, id).await.is_ok(), "not deleted");
}

// ---------------------------------------------------------------------------------------------
// Throttling
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttled_read_is_retried_with_backoff_then_answered_503() {
    for code in [
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "com.amazon.coral.availability#ThrottlingException",
    ] {
        let replay = replay_client((0..=MAX_ATTEMPTS).map(|_| throttled(code)).collect());
        let app = app_on(DynamoDbRepository::new(
            scripted_client(replay.clone()).await,
            "payments",
        ));

        let result = app
            .payments
            .get(organisation(), PaymentId::generate(Timestamp::now()))
            .await;

        assert!(
            matches!(result, Err(PaymentError::Unavailable(_))),
            "{code}: {result:?}"
        );
        assert_eq!(
            targets(&replay),
            ["GetItem"; MAX_ATTEMPTS as usize],
            "{code}"
        );

        let replay = replay_client((0..=MAX_ATTEMPTS).map(|_| throttled(code)).collect());
        let app = app_on(DynamoDbRepository::new(
            scripted_client(replay.clone()).await,
            "payments",
        ));
        let get = Event::fixture("get-payment", "found").request();
        let answer = call(&app, Function::GetPayment, get).await;

        answer.assert_retryable_problem(503, "/problems/unavailable");
        assert!(!answer.body.to_string().contains("Throughput"), "{code}");
        assert_eq!(targets(&replay).len(), MAX_ATTEMPTS as usize, "{code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttled_write_is_retried_and_succeeds_once_dynamodb_accepts_it() {
    let code = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException";
    let replay = replay_client(vec![throttled(code), throttled(code), ok(json!({}))]);
    let app = app_on(DynamoDbRepository::new(
        scripted_client(replay.clone()).await,
        "payments",
    ));
    let post = Event::fixture("create-payment", "created").request();

    let answer = call(&app, Function::CreatePayment, post).await;

    assert_eq!(answer.status, 201, "{answer:#?}");
    assert_eq!(targets(&replay), ["TransactWriteItems"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttled_write_that_stays_throttled_answers_503() {
    let code = "com.amazon.coral.availability#ThrottlingException";
    let replay = replay_client((0..=MAX_ATTEMPTS).map(|_| throttled(code)).collect());
    let app = app_on(DynamoDbRepository::new(
        scripted_client(replay.clone()).await,
        "payments",
    ));
    let post = Event::fixture("create-payment", "created").request();

    let answer = call(&app, Function::CreatePayment, post).await;

    answer.assert_retryable_problem(503, "/problems/unavailable");
    assert_eq!(targets(&replay).len(), MAX_ATTEMPTS as usize);
}

/// DynamoDB throttles a transaction by cancelling it with a `ThrottlingError` reason
/// (TransactWriteItems API reference, "TransactionCanceledException"). The SDK does not retry a
/// cancelled transaction, so the repository must, as it does for `TransactionConflict`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_cancelled_by_throttling_is_retried_with_backoff_then_answered_503() {
    let replay = replay_client(vec![cancelled(&["None", "ThrottlingError"]), ok(json!({}))]);
    let app = app_on(DynamoDbRepository::new(
        scripted_client(replay.clone()).await,
        "payments",
    ));
    let post = Event::fixture("create-payment", "created").request();

    let answer = call(&app, Function::CreatePayment, post).await;

    assert_eq!(
        answer.status, 201,
        "retried after one throttle: {answer:#?}"
    );
    assert_eq!(targets(&replay), ["TransactWriteItems"; 2]);

    let replay = replay_client(
        (0..10)
            .map(|_| cancelled(&["None", "ThrottlingError"]))
            .collect(),
    );
    let app = app_on(DynamoDbRepository::new(
        scripted_client(replay.clone()).await,
        "payments",
    ));
    let post = Event::fixture("create-payment", "created").request();

    let answer = call(&app, Function::CreatePayment, post).await;

    answer.assert_retryable_problem(503, "/problems/unavailable");
    assert!(
        targets(&replay).len() > 1,
        "retried before giving up: {:?}",
        targets(&replay)
    );
}

/// The SDK retries `TransactionInProgressException` (a retry of a transaction DynamoDB is
/// still running) as throttling. When it is still in progress after the last attempt the
/// client may retry later, as for any throttle: 503, not 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_still_in_progress_after_the_retries_answers_503_not_500() {
    let code = "com.amazonaws.dynamodb.v20120810#TransactionInProgressException";
    let replay = replay_client((0..=MAX_ATTEMPTS).map(|_| throttled(code)).collect());
    let app = app_on(DynamoDbRepository::new(
        scripted_client(replay.clone()).await,
        "payments",
    ));
    let post = Event::fixture("create-payment", "created-with-idempotency-key").request();

    let answer = call(&app, Function::CreatePayment, post).await;

    assert_eq!(
        targets(&replay).len(),
        MAX_ATTEMPTS as usize,
        "retried by the SDK"
    );
    answer.assert_retryable_problem(503, "/problems/unavailable");
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_sdk_gives_up_well_before_the_function_timeout() {
    let margin = Duration::from_secs(2);

    assert!(OPERATION_TIMEOUT + margin <= function_timeout());
    assert!(ATTEMPT_TIMEOUT < OPERATION_TIMEOUT);
    assert!(CONNECT_TIMEOUT < ATTEMPT_TIMEOUT);
    // The constants are what the functions' client is built with.
    let client = dynamodb_client(Some("http://127.0.0.1:9")).await;
    let timeouts = client.config().timeout_config().unwrap();
    assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
    assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
    assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
    let retries = client.config().retry_config().unwrap();
    assert_eq!(retries.max_attempts(), MAX_ATTEMPTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dynamodb_that_never_answers_gets_503_before_the_function_times_out() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let held = {
        let accepted = accepted.clone();
        // Accepts every connection and never answers on it.
        tokio::spawn(async move {
            let mut connections = Vec::new();
            while let Ok((connection, _)) = silent.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                connections.push(connection);
            }
        })
    };
    let client = own_retry_partition(dynamodb_client(Some(&endpoint)).await);
    let app = app_on(DynamoDbRepository::new(client, "payments"));

    let get = Event::fixture("get-payment", "found").request();
    let ready = Event::fixture("health", "ready").request();
    let (answer, not_ready) = tokio::join!(
        call(&app, Function::GetPayment, get),
        call(&app, Function::Health, ready),
    );
    held.abort();

    answer.assert_retryable_problem(503, "/problems/unavailable");
    assert!(answer.elapsed < function_timeout(), "{:?}", answer.elapsed);
    not_ready.assert_retryable_problem(503, "/problems/unavailable");
    assert!(
        not_ready.elapsed < function_timeout(),
        "{:?}",
        not_ready.elapsed
    );
    assert!(
        accepted.load(Ordering::SeqCst) >= 4,
        "each call's timed-out attempt is retried, on a new connection"
    );
}

/// Each DynamoDB call is bounded by [`OPERATION_TIMEOUT`], but one request makes several:
/// a PUT with `If-Match: *` reads, then writes (retrying `TransactionConflict` up to five
/// times), and starts again when its condition fails. With DynamoDB answering each call just
/// inside [`ATTEMPT_TIMEOUT`], the request as a whole must still answer before the function
/// is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_of_many_slow_dynamodb_calls_still_answers_before_the_function_timeout() {
    let org = organisation();
    let stored = Payment::new(org, example_attributes(), Timestamp::now());
    let dynamodb = SlowDynamoDb::new(&stored, ATTEMPT_TIMEOUT.mul_f64(0.9));
    let functions = dynamodb_client(Some("http://127.0.0.1:9")).await;
    let client = own_retry_partition(Client::from_conf(
        functions
            .config()
            .to_builder()
            .http_client(dynamodb.clone())
            .build(),
    ));
    let app = app_on(DynamoDbRepository::new(client, "payments"));
    let put = Event::fixture("update-payment", "updated")
        .organisation(org)
        .payment(stored.id())
        .header("if-match", "*")
        .request();

    let answer =
        tokio::time::timeout(function_timeout(), call(&app, Function::UpdatePayment, put)).await;

    let answer = answer.unwrap_or_else(|_| {
        panic!(
            "no answer within the function's {:?} after {} DynamoDB calls: \
             Lambda would have killed the function",
            function_timeout(),
            dynamodb.calls.load(Ordering::SeqCst)
        )
    });
    answer.assert_retryable_problem(503, "/problems/unavailable");
}

// ---------------------------------------------------------------------------------------------
// Outage
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_answers_503_promptly_and_leaves_nothing_half_written() {
    // Starting a JVM takes the machine's cores for seconds: not while other tests race.
    let starting = STORAGE.write().await;
    let dynamodb = LocalDynamoDb::start().await;
    drop(starting);
    let client = own_retry_partition(dynamodb_client(Some(&dynamodb.endpoint())).await);
    let table = TestTable {
        name: "payments-outage".to_owned(),
        client: client.clone(),
    };
    TableDefinition::new(&table.name)
        .create_if_absent(&client)
        .await
        .unwrap();
    let app: &'static App = Box::leak(Box::new(app_on(table.repository())));
    let org = organisation();
    let log = Arc::new(Mutex::new(Vec::<Logged>::new()));
    let stop = Arc::new(AtomicBool::new(false));

    // Clients creating (idempotently), reading, updating, listing and deleting their own
    // payments while DynamoDB goes away.
    let mut clients = JoinSet::new();
    for client_number in 0..6 {
        let (log, stop) = (log.clone(), stop.clone());
        clients.spawn(async move {
            for round in 0..200 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                lifecycle(app, org, &format!("{client_number}-{round}"), &log).await;
            }
        });
    }
    wait_until("requests succeed before the outage", || {
        let log = log.lock().unwrap();
        log.iter().filter(|l| l.answer.status < 300).count() >= 24
    })
    .await;

    dynamodb.stop().await;
    let down = Instant::now();
    let health = |case| Event::fixture("health", case).request();
    let (ready, health_ready, health_alive) = tokio::join!(
        app.payments.ready(),
        call(app, Function::Health, health("ready")),
        call(app, Function::Health, health("alive")),
    );
    wait_until("requests run during the outage", || {
        log.lock()
            .unwrap()
            .iter()
            .filter(|l| l.started > down)
            .count()
            >= 24
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    while let Some(joined) = clients.join_next().await {
        joined.expect("no request panics");
    }

    assert!(
        matches!(ready, Err(PaymentError::Unavailable(_))),
        "{ready:?}"
    );
    health_ready.assert_retryable_problem(503, "/problems/unavailable");
    assert_eq!(health_alive.status, 200);
    assert_eq!(health_alive.body, json!({"status": "alive"}));
    let log = std::mem::take(&mut *log.lock().unwrap());
    for entry in &log {
        assert!(
            entry.answer.elapsed < function_timeout(),
            "answered within the function's timeout: {entry:#?}"
        );
        if entry.started > down || entry.answer.status >= 300 {
            entry
                .answer
                .assert_retryable_problem(503, "/problems/unavailable");
            let body = entry.answer.body.to_string();
            assert!(!body.contains("127.0.0.1") && !body.contains("dispatch"));
        }
    }

    let starting = STORAGE.write().await;
    dynamodb.start_again().await;
    drop(starting);
    // From here every request must succeed within the production timeouts: not while the
    // 500-create burst has the machine's cores.
    let _quiet = STORAGE.read().await;
    for _ in 0..150 {
        if app.payments.ready().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.payments.ready().await.expect("ready after the restart");

    // Every acknowledged write is there; what a 503 answered may or may not have happened.
    let payments: BTreeSet<&str> = log.iter().filter_map(|e| e.payment.as_deref()).collect();
    for id in payments {
        let answers = |route: Function| {
            log.iter()
                .filter(move |e| e.route == route && e.payment.as_deref() == Some(id))
                .map(|e| e.answer.status)
        };
        let read = app.payments.get(org, id.parse().unwrap()).await;
        let deleted = answers(Function::DeletePayment).any(|status| status == 204);
        let delete_tried = answers(Function::DeletePayment).next().is_some();
        let updated = answers(Function::UpdatePayment).any(|status| status == 200);
        match read {
            Err(PaymentError::NotFound) if delete_tried => {}
            Ok(payment) if deleted => panic!("{id}: acknowledged deleted, yet {payment:?}"),
            Ok(payment) if updated => assert_eq!(payment.version().get(), 2, "{id}"),
            Ok(payment) => assert!(payment.version().get() <= 2, "{id}"),
            Err(error) => panic!("{id}: an acknowledged create is lost: {error:?}"),
        }
    }
    // A client retries every create with its key, whatever it was answered: each key ends with
    // exactly one payment, the one acknowledged if any was.
    let keys: BTreeSet<&str> = log.iter().map(|e| e.key.as_str()).collect();
    for key in &keys {
        let retried = call(
            app,
            Function::CreatePayment,
            create_event(org, key).request(),
        )
        .await;
        assert_eq!(retried.status, 201, "{key}: {retried:#?}");
        let acknowledged = log.iter().filter(|e| {
            e.key == *key && e.route == Function::CreatePayment && e.answer.status == 201
        });
        for entry in acknowledged {
            assert_eq!(entry.answer.id(), retried.id(), "{key}: one payment");
        }
    }
    // Requests succeed again.
    let after = Mutex::new(Vec::new());
    lifecycle(app, org, "after-the-outage", &after).await;
    let after = after.into_inner().unwrap();
    let statuses: Vec<u16> = after.iter().map(|e| e.answer.status).collect();
    assert_eq!(statuses, [201, 200, 200, 200, 204], "{after:#?}");

    let items = table.items().await;
    assert_nothing_half_written(&items);
    let count = |prefix: &str, sk: &str| {
        items
            .iter()
            .filter(|item| {
                item_text(item, "pk").starts_with(prefix) && item_text(item, "sk").starts_with(sk)
            })
            .count()
    };
    assert_eq!(count("IDEMPOTENCY#", "IDEMPOTENCY"), keys.len() + 1);
    assert_eq!(
        count("PAYMENT#", "VERSION#00000000000000000001"),
        keys.len() + 1,
        "one payment per idempotency key, none duplicated"
    );
    assert!(
        log.iter().any(|e| e.answer.status == 503),
        "the outage was seen"
    );
}

/// One request of the outage test and what it answered.
#[derive(Debug)]
struct Logged {
    route: Function,
    key: String,
    payment: Option<String>,
    started: Instant,
    answer: Answer,
}

/// Create (with an `Idempotency-Key`), read, update at version 1, list, and delete one
/// payment, stopping at the first answer that is not a success.
async fn lifecycle(app: &'static App, org: OrganisationId, key: &str, log: &Mutex<Vec<Logged>>) {
    let send = async |route: Function, payment: Option<&str>, event: Event| {
        let started = Instant::now();
        let answer = call(app, route, event.request()).await;
        let ok = answer.status < 300;
        let payment = payment.map(str::to_owned).or_else(|| {
            (route == Function::CreatePayment && answer.status == 201)
                .then(|| answer.id().to_owned())
        });
        log.lock().unwrap().push(Logged {
            route,
            key: key.to_owned(),
            payment: payment.clone(),
            started,
            answer,
        });
        ok.then_some(payment).flatten()
    };
    let Some(id) = send(Function::CreatePayment, None, create_event(org, key)).await else {
        return;
    };
    let payment_id: PaymentId = id.parse().unwrap();
    let get = Event::fixture("get-payment", "found")
        .organisation(org)
        .payment(payment_id);
    if send(Function::GetPayment, Some(&id), get).await.is_none() {
        return;
    }
    let put = Event::fixture("update-payment", "updated")
        .organisation(org)
        .payment(payment_id)
        .header("if-match", "\"1\"");
    if send(Function::UpdatePayment, Some(&id), put)
        .await
        .is_none()
    {
        return;
    }
    let list = Event::fixture("list-payments", "first-page")
        .organisation(org)
        .query(&[("limit", "5")]);
    if send(Function::ListPayments, Some(&id), list)
        .await
        .is_none()
    {
        return;
    }
    let delete = Event::fixture("delete-payment", "deleted-without-if-match")
        .organisation(org)
        .payment(payment_id);
    send(Function::DeletePayment, Some(&id), delete).await;
}

fn create_event(org: OrganisationId, key: &str) -> Event {
    Event::fixture("create-payment", "created-with-idempotency-key")
        .organisation(org)
        .header("idempotency-key", &format!("outage-{key}"))
}

/// Every current payment has its whole history up to its version, every history without a
/// current payment ends in `deleted`, and every idempotency record has its payment's first
/// version: a transaction is never seen half done.
fn assert_nothing_half_written(items: &[HashMap<String, AttributeValue>]) {
    let mut current: BTreeMap<String, u64> = BTreeMap::new();
    let mut history: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    let mut idempotent: Vec<String> = Vec::new();
    for item in items {
        let (pk, sk) = (item_text(item, "pk"), item_text(item, "sk"));
        if sk == "CURRENT" {
            let version = item["version"].as_n().unwrap().parse().unwrap();
            current.insert(pk, version);
        } else if let Some(version) = sk.strip_prefix("VERSION#") {
            let entry = (version.parse().unwrap(), item_text(item, "change"));
            history.entry(pk).or_default().push(entry);
        } else if sk == "IDEMPOTENCY" {
            idempotent.push(format!("PAYMENT#{}", item_text(item, "payment_id")));
        } else {
            panic!("unexpected item {pk} {sk}");
        }
    }
    for (pk, versions) in &mut history {
        versions.sort();
        assert!(
            versions
                .iter()
                .enumerate()
                .all(|(i, (version, _))| *version == i as u64 + 1),
            "{pk}: versions follow each other from 1: {versions:?}"
        );
        assert_eq!(versions[0].1, "created", "{pk}");
        let (last, change) = versions.last().unwrap();
        match current.get(pk) {
            Some(version) => {
                assert_eq!(last, version, "{pk}: the current version is the last");
                assert_ne!(change, "deleted", "{pk}");
            }
            None => assert_eq!(change, "deleted", "{pk}: history without its payment"),
        }
    }
    for pk in current.keys() {
        assert!(
            history.contains_key(pk),
            "{pk}: payment without its history"
        );
    }
    for pk in &idempotent {
        assert!(
            history.contains_key(pk),
            "{pk}: idempotency record without its payment"
        );
    }
}

/// A DynamoDB Local of the test's own, on a free port, keeping its data in a temporary folder
/// so that it survives a restart. Stopped (and its folder removed) however the test ends.
struct LocalDynamoDb {
    port: u16,
    data_dir: PathBuf,
}

impl LocalDynamoDb {
    async fn start() -> Self {
        let port = String::from_utf8(script("free-port.sh", &[]).stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let data_dir =
            std::env::temp_dir().join(format!("payments-outage-{}", uuid::Uuid::new_v4()));
        let dynamodb = Self { port, data_dir };
        dynamodb.start_again().await;
        dynamodb
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start_again(&self) {
        let (port, data_dir) = (self.port.to_string(), self.data_dir.clone());
        let started = tokio::task::spawn_blocking(move || {
            script(
                "dynamodb-local.sh",
                &["start", &port, data_dir.to_str().unwrap()],
            )
        })
        .await
        .unwrap();
        assert!(started.status.success(), "{started:?}");
    }

    /// Stops it and waits until its process has exited: it stops listening before it has
    /// finished with its data, and a successor started meanwhile would read a stale database.
    async fn stop(&self) {
        let pid_file = repo_root().join(format!(".run/dynamodb-{}.pid", self.port));
        let pid = std::fs::read_to_string(&pid_file).expect("DynamoDB Local's pid file");
        let port = self.port.to_string();
        tokio::task::spawn_blocking(move || script("dynamodb-local.sh", &["stop", &port]))
            .await
            .unwrap();
        let process = PathBuf::from(format!("/proc/{}", pid.trim()));
        for _ in 0..600 {
            if !process.exists() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("DynamoDB Local (pid {}) did not exit", pid.trim());
    }
}

impl Drop for LocalDynamoDb {
    fn drop(&mut self) {
        script("dynamodb-local.sh", &["stop", &self.port.to_string()]);
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn script(name: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(repo_root().join("scripts").join(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("scripts/{name}: {e}"))
}

/// Polls `done` every 50 ms for up to 60 s: long enough for a loaded machine, bounded so a
/// broken run fails instead of hanging.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting: {what}");
}

// ---------------------------------------------------------------------------------------------
// Requests and answers
// ---------------------------------------------------------------------------------------------

/// One request through [`http::serve`] and `function`'s own handler (`<function>::handle`, what
/// the function runs in Lambda), on `app`'s repository.
async fn call<R: PaymentRepository>(app: &App<R>, function: Function, request: Request) -> Answer {
    let started = Instant::now();
    let response = http::serve(&app.identity, request, |r| function.handle(app, r)).await;
    Answer::of(response, started.elapsed())
}

/// The functions' app on `repository`, identifying callers as deployed.
fn app_on<R: PaymentRepository>(repository: R) -> App<R> {
    App {
        payments: Payments::new(repository),
        identity: jwt_identity(),
    }
}

/// The organisation claim of the JWT authorizer, as deployed.
fn jwt_identity() -> Identity {
    Identity::Jwt {
        claim: DEFAULT_ORGANISATION_CLAIM.to_owned(),
    }
}

/// An API Gateway HTTP API event from `events/`, to change before sending.
#[derive(Debug, Clone)]
struct Event(Value);

impl Event {
    fn fixture(function: &str, case: &str) -> Self {
        let path = events_dir(function).join(format!("{case}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        Self(serde_json::from_str(&text).unwrap())
    }

    fn organisation(mut self, org: OrganisationId) -> Self {
        self.0["requestContext"]["authorizer"]["jwt"]["claims"]["organisation_id"] =
            json!(org.to_string());
        self
    }

    fn payment(mut self, id: PaymentId) -> Self {
        let path = format!("/payments/{id}");
        self.0["rawPath"] = json!(path);
        self.0["requestContext"]["http"]["path"] = json!(path);
        self.0["pathParameters"] = json!({ "id": id.to_string() });
        self
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.0["headers"][name] = json!(value);
        self
    }

    fn query(mut self, parameters: &[(&str, &str)]) -> Self {
        let raw: Vec<String> = parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.0["rawQueryString"] = json!(raw.join("&"));
        self.0["queryStringParameters"] = parameters
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        self
    }

    /// The event as the Lambda runtime hands it to a function: with the deadline of an
    /// invocation that starts now.
    fn request(&self) -> Request {
        let request =
            lambda_http::request::from_str(&self.0.to_string()).expect("an HTTP API event");
        let mut context = lambda_http::Context::default();
        let deadline = SystemTime::now() + function_timeout();
        let millis = deadline.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        context.deadline = u64::try_from(millis.as_millis()).unwrap();
        request.with_lambda_context(context)
    }
}

/// What a client was answered, and how long it waited.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: ::http::HeaderMap,
    body: Value,
    elapsed: Duration,
}

impl Answer {
    fn of(response: Response<Body>, elapsed: Duration) -> Self {
        let body = match response.body() {
            Body::Empty => Value::Null,
            Body::Text(text) => serde_json::from_str(text).expect("a JSON body"),
            Body::Binary(bytes) => serde_json::from_slice(bytes).expect("a JSON body"),
            _ => panic!("unexpected body"),
        };
        Self {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body,
            elapsed,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The payment id of a payment body.
    fn id(&self) -> &str {
        self.body["id"].as_str().expect("a payment body")
    }

    fn assert_problem(&self, status: u16, problem_type: &str) {
        assert_eq!(self.status, status, "{self:#?}");
        assert_eq!(self.header("content-type"), Some(PROBLEM_JSON), "{self:#?}");
        assert_eq!(self.body["status"], status, "{self:#?}");
        assert_eq!(self.body["type"], problem_type, "{self:#?}");
    }

    fn assert_retryable_problem(&self, status: u16, problem_type: &str) {
        self.assert_problem(status, problem_type);
        assert_eq!(self.header("retry-after"), Some("1"), "{self:#?}");
    }
}

/// Runs `n` requests at once: each on its own task, all released together. Answers come back
/// in the order of `i`.
async fn together<F, Fut>(n: usize, mut request: F) -> Vec<Answer>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Answer> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (barrier, request) = (barrier.clone(), request(i));
        tasks.spawn(async move {
            barrier.wait().await;
            (i, request.await)
        });
    }
    let mut answers: Vec<Option<Answer>> = (0..n).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, answer) = joined.expect("no request panics");
        answers[i] = Some(answer);
    }
    answers.into_iter().map(Option::unwrap).collect()
}

/// Every page of an organisation's list, following `links.next`.
async fn list_all(app: &App, org: OrganisationId, limit: usize) -> Vec<Vec<Value>> {
    let limit = limit.to_string();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", limit.as_str())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor));
        }
        let list = Event::fixture("list-payments", "first-page")
            .organisation(org)
            .query(&query);
        let answer = call(app, Function::ListPayments, list.request()).await;
        assert_eq!(answer.status, 200, "{answer:#?}");
        pages.push(answer.body["data"].as_array().unwrap().clone());
        match answer.body["links"]["next"].as_str() {
            Some(next) => cursor = Some(next.split("cursor=").nth(1).unwrap().to_owned()),
            None => return pages,
        }
        assert!(pages.len() <= 100, "the list ends");
    }
}

fn versions_and_changes(history: &[HistoryEntry]) -> Vec<(u64, &'static str)> {
    history
        .iter()
        .map(|entry| {
            let change = match serde_json::to_value(entry.change).unwrap().as_str() {
                Some("created") => "created",
                Some("updated") => "updated",
                Some("deleted") => "deleted",
                other => panic!("unknown change {other:?}"),
            };
            (entry.payment.version().get(), change)
        })
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

fn item_text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// ---------------------------------------------------------------------------------------------
// DynamoDBs that answer from a script
// ---------------------------------------------------------------------------------------------

/// The functions' client ([`dynamodb_client`]), talking to `http` instead of the network, with
/// a 1 ms initial backoff so that retried throttles take no time. Everything else (attempts,
/// timeouts, retry classification) is as deployed.
async fn scripted_client(http: impl HttpClient + 'static) -> Client {
    let functions = dynamodb_client(Some("http://127.0.0.1:9")).await;
    let retries = functions
        .config()
        .retry_config()
        .expect("the functions' client sets its retries")
        .clone()
        .with_initial_backoff(Duration::from_millis(1));
    own_retry_partition(Client::from_conf(
        functions
            .config()
            .to_builder()
            .http_client(http)
            .retry_config(retries)
            .build(),
    ))
}

/// The same client with a retry token bucket of its own (see the module documentation).
fn own_retry_partition(client: Client) -> Client {
    let partition = RetryPartition::custom(format!("reliability-{}", uuid::Uuid::new_v4()))
        .token_bucket(TokenBucket::default())
        .build();
    Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_partition(partition)
            .build(),
    )
}

/// A DynamoDB that answers each request with the next of `responses`, recording the requests.
fn replay_client(responses: Vec<::http::Response<SdkBody>>) -> StaticReplayClient {
    StaticReplayClient::new(
        responses
            .into_iter()
            .map(|response| {
                let request = ::http::Request::builder()
                    .uri("http://127.0.0.1:9/")
                    .body(SdkBody::empty())
                    .unwrap();
                ReplayEvent::new(request, response)
            })
            .collect(),
    )
}

/// The operations the client called, in order (`GetItem`, `TransactWriteItems`, ...).
fn targets(replay: &StaticReplayClient) -> Vec<String> {
    replay
        .actual_requests()
        .map(|request| {
            let target = request.headers().get("x-amz-target").unwrap_or_default();
            target.trim_start_matches("DynamoDB_20120810.").to_owned()
        })
        .collect()
}

fn ok(body: Value) -> ::http::Response<SdkBody> {
    dynamodb_response(200, body)
}

/// A 400 with DynamoDB's error document for `error_type` (`namespace#Code`).
fn throttled(error_type: &str) -> ::http::Response<SdkBody> {
    dynamodb_response(
        400,
        json!({"__type": error_type, "message": "Throughput exceeds the current capacity."}),
    )
}

/// A `TransactionCanceledException` with one cancellation reason per action.
fn cancelled(reasons: &[&str]) -> ::http::Response<SdkBody> {
    let reasons: Vec<Value> = reasons.iter().map(|code| json!({"Code": code})).collect();
    dynamodb_response(
        400,
        json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
            "CancellationReasons": reasons,
        }),
    )
}

fn dynamodb_response(status: u16, body: Value) -> ::http::Response<SdkBody> {
    ::http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(SdkBody::from(body.to_string()))
        .unwrap()
}

/// A DynamoDB that answers every call after `delay`: `GetItem` with `stored`, and
/// `TransactWriteItems` with four `TransactionConflict`s then a failed condition, over and
/// over, as a table under heavy write contention would.
#[derive(Debug, Clone)]
struct SlowDynamoDb {
    item: Value,
    delay: Duration,
    calls: Arc<AtomicUsize>,
    transactions: Arc<AtomicUsize>,
}

impl SlowDynamoDb {
    fn new(stored: &Payment, delay: Duration) -> Self {
        Self {
            item: stored_item(stored),
            delay,
            calls: Arc::default(),
            transactions: Arc::default(),
        }
    }
}

impl HttpConnector for SlowDynamoDb {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let response = if target.ends_with(".GetItem") {
            ok(json!({ "Item": self.item }))
        } else if target.ends_with(".TransactWriteItems") {
            let n = self.transactions.fetch_add(1, Ordering::SeqCst);
            if n % 5 == 4 {
                cancelled(&["ConditionalCheckFailed", "None"])
            } else {
                cancelled(&["TransactionConflict", "None"])
            }
        } else {
            dynamodb_response(400, json!({"__type": "UnknownOperationException"}))
        };
        let response = HttpResponse::try_from(response).unwrap();
        let delay = self.delay;
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(delay).await;
            Ok(response)
        })
    }
}

impl HttpClient for SlowDynamoDb {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.clone().into_shared()
    }
}
