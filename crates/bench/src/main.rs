//! The `make bench` driver (scripts/bench.sh builds what it needs and starts DynamoDB Local).
//!
//! ```text
//! bench run    --endpoint URL [--bin-dir target/release] [--runs 50] [--rss-invocations 1000]
//!              [--only a,b] [--skip-rss] [--skip-capacity] [--out .run/bench/results.json]
//!              [--extra get-payment@variant=path,...] [--peer name=path,...]
//! bench report [--results .run/bench/results.json] [--sizes .run/bench/sizes.tsv]
//!              [--criterion target/criterion]
//! bench capacity --endpoint URL
//! ```
//!
//! `run` measures cold starts (interleaved: one run of every binary per round, so a noisy
//! moment of the machine falls on all of them alike), peak RSS, and DynamoDB capacity per
//! operation, and writes them to `--out`. `report` prints the summary table of
//! docs/benchmarks.md from those results, the binary sizes and criterion's estimates.
//! `capacity` (`make capacity`) measures the capacity table alone and prints it with the
//! capacity model ([`bench::capacity_model`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use bench::capacity::{self, CapacityMeter};
use bench::cold::{self, ColdStart, Expected, Spawner, Target};
use bench::dynamodb_proxy::DynamoDbProxy;
use bench::eventbridge::LocalEventBridge;
use bench::runtime_api::RuntimeApi;
use bench::{report, stats};
use payments_core::config::dynamodb_client;
use payments_core::domain::{
    ExpectedVersion, IdempotencyKey, OrganisationId, PageSize, Payment, PaymentAttributes,
    Timestamp,
};
use payments_core::repository::{
    DynamoDbRepository, ListShards, PaymentRepository, TableDefinition,
};
use payments_core::service::Payments;
use serde_json::{Value, json};

/// The payment and organisation the event fixtures name.
const FIXTURE_PAYMENT: &str = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41";
const FIXTURE_ORGANISATION: &str = "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60";
/// More than a default page (20), so a listing reads a full page and one more item.
const LISTED_PAYMENTS: usize = 25;
/// The list index shards of the capacity table's sharded organisations: what the README
/// suggests for one that creates 1,000 and 10,000 payments a second.
const HOT_ORGANISATION_SHARDS: [u16; 2] = [8, 32];
/// Payments of each sharded organisation listed by the capacity table: several pages' worth.
const HOT_ORGANISATION_PAYMENTS: usize = 200;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let options = Options::parse(args)?;
    match command.as_str() {
        "run" => run(&options),
        "capacity" => capacity_only(&options),
        "report" => {
            let results = read_json(&options.path("results", ".run/bench/results.json"))?;
            let sizes = report::read_sizes(&options.path("sizes", ".run/bench/sizes.tsv"));
            let criterion =
                report::read_criterion(&options.path("criterion", "target/criterion/handlers"));
            print!("{}", report::summary(&results, &sizes, &criterion));
            Ok(())
        }
        _ => Err("usage: bench run --endpoint URL [...] | bench report [...]".into()),
    }
}

struct Options(HashMap<String, String>);

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, Error> {
        let mut options = HashMap::new();
        while let Some(arg) = args.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {arg}"))?
                .to_owned();
            if name.starts_with("skip-") {
                options.insert(name, "true".to_owned());
            } else {
                let value = args
                    .next()
                    .ok_or_else(|| format!("--{name} needs a value"))?;
                options.insert(name, value);
            }
        }
        Ok(Self(options))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn path(&self, name: &str, default: &str) -> PathBuf {
        PathBuf::from(self.get(name).unwrap_or(default))
    }

    fn number(&self, name: &str, default: usize) -> Result<usize, Error> {
        Ok(self
            .get(name)
            .map(str::parse)
            .transpose()?
            .unwrap_or(default))
    }

    fn flag(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

fn capacity_only(options: &Options) -> Result<(), Error> {
    let endpoint = options.get("endpoint").ok_or("--endpoint is required")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = runtime.block_on(Store::create(endpoint))?;
    let rows = runtime.block_on(measure_capacity(endpoint, &store))?;
    print!("{}", report::capacity_table(&rows));
    print!("{}", bench::capacity_model::report(&rows));
    Ok(())
}

fn run(options: &Options) -> Result<(), Error> {
    let endpoint = options.get("endpoint").ok_or("--endpoint is required")?;
    // Absolute: the bootstraps run in the log directory.
    let bin_dir = std::path::absolute(options.path("bin-dir", "target/release"))?;
    let events = options.path("events", "events");
    let out = options.path("out", ".run/bench/results.json");
    let runs = options.number("runs", 50)?;
    let rss_invocations = options.number("rss-invocations", 1000)?;
    let only: Option<Vec<&str>> = options.get("only").map(|list| list.split(',').collect());
    let log_dir = out.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&log_dir)?;

    let all = targets(&bin_dir, &events);
    let mut targets: Vec<Target> = all
        .iter()
        .filter(|t| {
            only.as_ref()
                .is_none_or(|only| only.contains(&t.name.as_str()))
        })
        .cloned()
        .collect();
    // `--extra get-payment@before=path,...`: another build of a binary, measured in the same
    // run (and interleaved) with the same event, to compare two builds on a noisy machine.
    for extra in options
        .get("extra")
        .into_iter()
        .flat_map(|list| list.split(','))
    {
        let (name, path) = extra
            .split_once('=')
            .ok_or("--extra takes name@variant=path")?;
        let base = name.split('@').next().unwrap_or(name);
        let mut target = all
            .iter()
            .find(|t| t.name == base)
            .ok_or_else(|| format!("--extra: no binary named {base}"))?
            .clone();
        target.name = name.to_owned();
        target.binary = std::path::absolute(path)?;
        targets.push(target);
    }
    // `--peer peer-get-product=path,...`: another project's binary, timed to its first poll
    // only (docs/benchmarks.md, "The reference sample").
    for peer in options
        .get("peer")
        .into_iter()
        .flat_map(|list| list.split(','))
    {
        let (name, path) = peer.split_once('=').ok_or("--peer takes name=path")?;
        targets.push(Target {
            name: name.to_owned(),
            binary: std::path::absolute(path)?,
            event: events.join("get-payment").join("found.json"),
            expected: Expected::InitOnly,
            consumes_payment: false,
        });
    }
    for target in &targets {
        if !target.binary.exists() {
            return Err(format!("{} is missing: build it first", target.binary.display()).into());
        }
        // A fresh log per run of the benchmark.
        let _ = std::fs::remove_file(log_dir.join(format!("{}.log", target.name)));
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = runtime.block_on(Store::create(endpoint))?;
    eprintln!(
        "bench: table {} in DynamoDB Local at {endpoint}",
        store.table
    );
    runtime.block_on(store.warm_up())?;

    let api = RuntimeApi::start()?;
    let proxy = DynamoDbProxy::start(endpoint.trim_start_matches("http://").trim_end_matches('/'))?;
    let eventbridge = LocalEventBridge::start()?;
    let mut environment = cold::lambda_environment(
        "bench",
        &api.address(),
        &store.table,
        &proxy.endpoint(),
        &eventbridge.endpoint(),
    );
    if std::env::var("BENCH_TRUST_STORE").as_deref() != Ok("host") {
        environment.extend(cold::al2023_trust_store(&log_dir)?);
    }
    let spawner = Spawner {
        api: &api,
        proxy: &proxy,
        eventbridge: &eventbridge,
        environment,
        log_dir: log_dir.clone(),
    };

    // Cold starts. One unrecorded round first: the binaries into the page cache, DynamoDB
    // Local's code paths compiled by its JIT.
    let mut cold: HashMap<String, Vec<ColdStart>> = HashMap::new();
    eprintln!(
        "bench: cold starts, {runs} rounds of {} binaries",
        targets.len()
    );
    let mut failures: HashMap<String, usize> = HashMap::new();
    for round in 0..=runs {
        for target in &targets {
            let event = Arc::new(runtime.block_on(store.event_for(target))?);
            match spawner.cold_start(target, event) {
                Ok(start) if round > 0 => cold.entry(target.name.clone()).or_default().push(start),
                Ok(_) => {}
                // A run that hangs or fails is reported and left out; a binary that fails
                // often is broken, not unlucky.
                Err(error) => {
                    eprintln!("bench: round {round}: {error}");
                    let count = failures.entry(target.name.clone()).or_default();
                    *count += 1;
                    if *count > runs.div_ceil(5) {
                        return Err(format!("{}: {count} failed runs", target.name).into());
                    }
                }
            }
        }
    }
    print!("{}", report::cold_table(&cold_json(&targets, &cold)));

    let mut memory = Vec::new();
    if !options.flag("skip-rss") {
        eprintln!("bench: peak RSS over {rss_invocations} warm invocations each");
        for target in targets.iter().filter(|t| t.expected != Expected::InitOnly) {
            let events = (0..rss_invocations)
                .map(|_| runtime.block_on(store.event_for(target)).map(Arc::new))
                .collect::<Result<Vec<_>, _>>()?;
            let measured = spawner.memory(target, events)?;
            eprintln!(
                "  {:<16} peak RSS {:>6} KiB, {:.2} ms per warm invocation",
                target.name,
                measured.peak_rss_kib,
                stats::ms(measured.warm_per_invocation)
            );
            memory.push(json!({
                "name": target.name,
                "peak_rss_kib": measured.peak_rss_kib,
                "invocations": measured.invocations,
                "warm_ms": stats::ms(measured.warm_per_invocation),
            }));
        }
    }

    let capacity = if options.flag("skip-capacity") {
        Vec::new()
    } else {
        eprintln!("bench: DynamoDB capacity per operation");
        runtime.block_on(measure_capacity(endpoint, &store))?
    };

    let results = json!({
        "runs": runs,
        "failed_runs": failures,
        "cold": cold_json(&targets, &cold),
        "memory": memory,
        "capacity": capacity,
    });
    std::fs::write(&out, serde_json::to_vec_pretty(&results)?)?;
    eprintln!("bench: results in {}", out.display());
    Ok(())
}

/// The seven functions and the two floors, each with the event of its main success case.
fn targets(bin_dir: &Path, events: &Path) -> Vec<Target> {
    let target = |name: &str, function: &str, case: &str, expected, consumes_payment| Target {
        name: name.to_owned(),
        binary: bin_dir.join(name),
        event: events.join(function).join(format!("{case}.json")),
        expected,
        consumes_payment,
    };
    let status = Expected::Status;
    vec![
        target("floor-hello", "get-payment", "found", status(200), false),
        target("floor-getitem", "get-payment", "found", status(200), false),
        target("get-payment", "get-payment", "found", status(200), false),
        target(
            "list-payments",
            "list-payments",
            "default-limit",
            status(200),
            false,
        ),
        target(
            "create-payment",
            "create-payment",
            "created",
            status(201),
            false,
        ),
        target(
            "update-payment",
            "update-payment",
            "updated",
            status(200),
            true,
        ),
        target(
            "delete-payment",
            "delete-payment",
            "deleted",
            status(204),
            true,
        ),
        target("health", "health", "ready", status(200), false),
        // Ten creates of ten payments: one full PutEvents call. The case's expectation file
        // fails some entries in the replay tests; the local EventBridge fails none.
        target(
            "payment-events",
            "payment-events",
            "eventbridge-fails-three-once",
            Expected::NoBatchItemFailures,
            false,
        ),
    ]
}

fn cold_json(targets: &[Target], cold: &HashMap<String, Vec<ColdStart>>) -> Value {
    let millis = |values: Vec<Duration>| values.into_iter().map(stats::ms).collect::<Vec<_>>();
    targets
        .iter()
        .filter_map(|target| {
            let starts = cold.get(&target.name)?;
            Some(json!({
                "name": target.name,
                "init_ms": millis(starts.iter().map(|s| s.init).collect()),
                "total_ms": millis(starts.iter().filter_map(|s| s.total).collect()),
                "dynamodb_ms": millis(starts.iter().map(|s| s.dynamodb).collect()),
                "eventbridge_ms": millis(starts.iter().map(|s| s.eventbridge).collect()),
            }))
        })
        .collect()
}

/// The benchmark's own table in DynamoDB Local, seeded as the events expect.
struct Store {
    table: String,
    repository: DynamoDbRepository,
    attributes: PaymentAttributes,
    organisation: OrganisationId,
}

impl Store {
    async fn create(endpoint: &str) -> Result<Self, Error> {
        let client = dynamodb_client(Some(endpoint)).await;
        let table = format!("payments-bench-{}", uuid::Uuid::new_v4().simple());
        TableDefinition::new(&table)
            .create_if_absent(&client)
            .await?;
        let request: Value =
            serde_json::from_str(&std::fs::read_to_string("docs/payment-request.json")?)?;
        let attributes = PaymentAttributes::parse_request(&request)
            .map_err(|errors| format!("docs/payment-request.json: {errors:?}"))?;
        let store = Self {
            repository: DynamoDbRepository::new(client, &table),
            table,
            attributes,
            organisation: FIXTURE_ORGANISATION.parse()?,
        };
        let fixture = Payment::create(
            FIXTURE_PAYMENT.parse()?,
            store.organisation,
            store.attributes.clone(),
            Timestamp::now(),
        );
        store.repository.insert(&fixture, None).await?;
        for _ in 0..LISTED_PAYMENTS {
            store.seed().await?;
        }
        Ok(store)
    }

    /// A new payment, as the create function makes one.
    async fn seed(&self) -> Result<Payment, Error> {
        let payment = Payment::new(self.organisation, self.attributes.clone(), Timestamp::now());
        self.repository.insert(&payment, None).await?;
        Ok(payment)
    }

    /// Reads and writes until DynamoDB Local's JIT has compiled what the runs will use.
    async fn warm_up(&self) -> Result<(), Error> {
        let id = FIXTURE_PAYMENT.parse()?;
        for _ in 0..300 {
            self.repository.get(id).await?;
        }
        for _ in 0..50 {
            self.seed().await?;
        }
        Ok(())
    }

    /// The target's event; for one that changes its payment, naming a payment made for it.
    async fn event_for(&self, target: &Target) -> Result<Vec<u8>, Error> {
        let replace = if target.consumes_payment {
            Some(self.seed().await?.id().to_string())
        } else {
            None
        };
        Ok(cold::read_event(
            &target.event,
            replace.as_deref().map(|id| (FIXTURE_PAYMENT, id)),
        )?)
    }
}

/// Capacity of each API operation, through the service and repository the functions use,
/// with the [`CapacityMeter`] on the client.
async fn measure_capacity(endpoint: &str, store: &Store) -> Result<Vec<Value>, Error> {
    let meter = CapacityMeter::default();
    let base = dynamodb_client(Some(endpoint)).await;
    let client = Client::from_conf(
        base.config()
            .to_builder()
            .interceptor(meter.clone())
            .build(),
    );
    let organisation = store.organisation;
    let hot: Vec<(u16, OrganisationId)> = HOT_ORGANISATION_SHARDS
        .into_iter()
        .map(|count| (count, uuid::Uuid::new_v4().into()))
        .collect();
    let setting: Vec<String> = hot
        .iter()
        .map(|(count, organisation)| format!("{organisation}={count}"))
        .collect();
    let shards = ListShards::parse(&setting.join(" ")).map_err(|e| e.to_string())?;
    let payments =
        Payments::new(DynamoDbRepository::new(client, &store.table).with_list_shards(shards));
    let attributes = || store.attributes.clone();
    let key: IdempotencyKey = format!("bench-{}", uuid::Uuid::new_v4())
        .parse()
        .map_err(|e| format!("{e:?}"))?;

    let mut rows = Vec::new();
    let mut row = |operation: &str, design_writes: usize| {
        let calls = meter.take();
        rows.push(capacity_row(operation, design_writes, &calls));
    };

    let created = payments.create(organisation, attributes(), None).await?;
    row("create", 2);
    payments
        .create(organisation, attributes(), Some(&key))
        .await?;
    row("create with Idempotency-Key", 3);
    payments
        .create(organisation, attributes(), Some(&key))
        .await?;
    row("create, idempotent repeat", 0);
    let id = created.id();
    payments.get(organisation, id).await?;
    row("get", 0);
    payments.list(organisation, PageSize::DEFAULT, None).await?;
    row("list (20 of more)", 0);
    payments
        .update(
            organisation,
            id,
            ExpectedVersion::Exactly(created.version()),
            attributes(),
        )
        .await?;
    row("update (If-Match: version)", 2);
    payments
        .update(organisation, id, ExpectedVersion::Any, attributes())
        .await?;
    row("update (If-Match: *)", 2);
    payments
        .delete(organisation, id, ExpectedVersion::Any)
        .await?;
    row("delete (If-Match: * or none)", 2);
    let other = payments.create(organisation, attributes(), None).await?;
    meter.take();
    payments
        .delete(
            organisation,
            other.id(),
            ExpectedVersion::Exactly(other.version()),
        )
        .await?;
    row("delete (If-Match: version)", 2);

    for (count, hot) in hot {
        let label = |operation: &str| format!("{operation}, {count} shards");
        for _ in 0..HOT_ORGANISATION_PAYMENTS {
            payments.create(hot, attributes(), None).await?;
        }
        meter.take();
        let created = payments.create(hot, attributes(), None).await?;
        row(&label("create"), 2);
        payments
            .update(
                hot,
                created.id(),
                ExpectedVersion::Exactly(created.version()),
                attributes(),
            )
            .await?;
        row(&label("update (If-Match: version)"), 2);
        let first = payments.list(hot, PageSize::DEFAULT, None).await?;
        row(&label("list (20 of more)"), 0);
        payments
            .list(hot, PageSize::DEFAULT, first.next_cursor.as_deref())
            .await?;
        row(&label("list, next page"), 0);
        let largest: PageSize = PageSize::MAX.to_string().parse()?;
        payments.list(hot, largest, None).await?;
        row(&label("list (100 of more)"), 0);
    }
    Ok(rows)
}

fn capacity_row(operation: &str, design_writes: usize, calls: &[capacity::Call]) -> Value {
    let written: usize = calls
        .iter()
        .filter(|call| call.operation == "TransactWriteItems")
        .map(|call| call.item_sizes.len())
        .sum();
    let reported: Option<f64> = calls
        .iter()
        .filter_map(|call| call.reported)
        .reduce(|a, b| a + b);
    json!({
        "operation": operation,
        "calls": calls.iter().map(|call| {
            format!("{} ({} item{}, {} B)", call.operation, call.item_sizes.len(),
                if call.item_sizes.len() == 1 { "" } else { "s" },
                call.item_sizes.iter().sum::<usize>())
        }).collect::<Vec<_>>(),
        "items_written": written,
        "design_writes": design_writes,
        "reported_units": reported,
        "cancelled_calls": calls.iter().filter(|call| call.reported.is_none()).count(),
        "aws_read_units": calls.iter().map(|call| call.aws_read).sum::<f64>(),
        "aws_write_units": calls.iter().map(|call| call.aws_write).sum::<f64>(),
        "aws_index_write_units": calls.iter().map(|call| call.aws_index_write).sum::<f64>(),
        "max_item_bytes": calls.iter().flat_map(|call| call.item_sizes.iter()).max(),
    })
}

fn read_json(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}
