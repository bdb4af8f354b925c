//! The public surface's promises that the compiler or a format string can check: which types
//! are `Send`/`Sync`/`'static`/`Unpin`, which convert into `tower::BoxError`, and that no
//! `Debug` or `Display` of a value made from a URL with credentials prints them.
//!
//! The marker checks are compile-time: a change that makes one of these types lose `Send` (an
//! `Rc`, a `RefCell` in a future, a non-`Send` hook) stops this test binary from building.

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use tower::{Layer, Service};
use tower_lro::store::{MemoryStore, StoreLayer, StoreService};
use tower_lro::{Dialect, LroBody, LroLayer, LroService, Origin};

fn send_sync_static<T: Send + Sync + 'static>() {}
fn send_static<T: Send + 'static>() {}
fn unpin<T: Unpin>() {}
fn boxes<E: std::error::Error + Send + Sync + 'static>() {
    // `?` into `tower::BoxError` and back with `downcast_ref`.
    fn into<E: Into<tower::BoxError>>() {}
    into::<E>();
}

type Req = Request<Full<Bytes>>;
type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;
type Incoming = hyper::body::Incoming;

#[test]
fn values_and_errors_are_send_sync_static_and_unpin() {
    macro_rules! all {
        ($($t:ty),* $(,)?) => {$(
            send_sync_static::<$t>();
            unpin::<$t>();
        )*};
    }
    all!(
        LroLayer,
        tower_lro::LroOptions,
        tower_lro::LroMetadata,
        tower_lro::Progress,
        tower_lro::WaitReason,
        tower_lro::HintSource,
        tower_lro::ResumeHandle,
        tower_lro::Rule,
        tower_lro::FinalState,
        tower_lro::IdempotencyHeader,
        Dialect,
        tower_lro::InvalidDialect,
        Origin,
        tower_lro::InvalidOrigin,
        tower_lro::OperationStatus,
        tower_lro::ODataError,
        tower_lro::StatusMeaning,
        tower_lro::LroRequest,
        tower_lro::PollKind,
        tower_lro::Cancellation,
        tower_lro::CancelOutcome,
        tower_lro::NotCancellable,
        tower_lro::Error,
        tower_lro::ErrorKind,
        tower_lro::connect::AddressGuard,
        tower_lro::connect::Refused,
        tower_lro::connect::HostClass,
        tower_lro::store::StoreLayer,
        tower_lro::store::MemoryStore,
        tower_lro::store::StoreError,
        tower_lro::store::OperationRecord,
        tower_lro::store::OperationState,
        tower_lro::store::RecordedStatus,
        tower_lro::store::StoredResult,
        tower_lro::store::Outcome,
    );
    boxes::<tower_lro::Error>();
    boxes::<tower_lro::InvalidDialect>();
    boxes::<tower_lro::InvalidOrigin>();
    boxes::<tower_lro::connect::Refused>();
    boxes::<tower_lro::store::StoreError>();
    // A progress watch travels to another task.
    send_sync_static::<tokio::sync::watch::Receiver<Option<tower_lro::Progress>>>();
}

#[test]
fn services_futures_and_bodies_are_send_when_their_parts_are() {
    // Over hyper-util's client: everything a spawned task or a shared client needs.
    send_sync_static::<LroService<Client>>();
    unpin::<LroService<Client>>();
    send_static::<<LroService<Client> as Service<Req>>::Future>();
    send_sync_static::<LroBody<Incoming>>();
    unpin::<LroBody<Incoming>>();
    send_sync_static::<LroBody<Full<Bytes>>>();
    send_sync_static::<StoreService<Client>>();
    send_static::<<StoreService<Client> as Service<Req>>::Future>();
    // The layers make what they promise.
    fn made<L: Layer<Client>>(_: &L) -> std::marker::PhantomData<L::Service> {
        std::marker::PhantomData
    }
    let _: std::marker::PhantomData<LroService<Client>> = made(&LroLayer::new());
    let store: StoreLayer = LroLayer::new().store(std::sync::Arc::new(MemoryStore::new()));
    let _: std::marker::PhantomData<StoreService<Client>> = made(&store);
}

#[cfg(feature = "reqwest-middleware")]
#[test]
fn the_reqwest_side_is_send_sync_static() {
    send_sync_static::<tower_lro::middleware::LroMiddleware>();
    send_sync_static::<tower_lro::connect::GuardedResolver<tower_lro::connect::SystemResolver>>();
}

#[cfg(feature = "hyper-util")]
#[test]
fn the_hyper_util_connector_is_send_sync_static() {
    send_sync_static::<tower_lro::connect::GuardedHttpConnector>();
    send_sync_static::<
        tower_lro::connect::GuardedConnector<hyper_util::client::legacy::connect::HttpConnector>,
    >();
}

#[cfg(feature = "store-redb")]
#[test]
fn the_redb_store_is_send_sync_static() {
    send_sync_static::<tower_lro::store::RedbStore>();
}

#[cfg(feature = "store-redis")]
#[test]
fn the_redis_store_is_send_sync_static() {
    send_sync_static::<tower_lro::store::RedisStore>();
}

/// Every `Debug` and `Display` of a value made from a URL that carries credentials (user
/// information, a `sig=`) prints the value masked, as `Error`, `LroMetadata` and
/// `ResumeHandle` already do: a `{:?}` of a layer or of a configuration error in a log line
/// must not carry them.
#[test]
fn debug_and_display_never_print_credentials() {
    const SECRET: &str = "s3cr3t";
    let base = format!("https://user:{SECRET}@svc.example/v1/?sig={SECRET}");
    let google = Dialect::google_with_base(&base).expect("an https base");
    let layer = LroLayer::new().dialect(google.clone());
    let bad_base = Dialect::google_with_base(&format!("ftp://user:{SECRET}@svc.example/"))
        .expect_err("not http(s)");
    let bad_name = format!("https://user:{SECRET}@svc.example/")
        .parse::<Dialect>()
        .expect_err("not a dialect");
    let bad_origin = Origin::parse(&format!("ftp://user:{SECRET}@files.example/?sig={SECRET}"))
        .expect_err("not http(s)");
    // A result URL a server signed is kept in the record (it is the server's, to fetch again).
    let record = tower_lro::store::OperationRecord::from_json(
        format!(
            r#"{{"fingerprint":"f","first_sent":1,"state":{{"state":"succeeded",
                "result":{{"kind":"url","url":"https://svc.example/r/1?sig={SECRET}"}}}}}}"#
        )
        .as_bytes(),
    )
    .expect("a record");
    let shown = [
        ("OperationRecord Debug", format!("{record:?}")),
        ("Dialect Debug", format!("{google:?}")),
        ("LroLayer Debug", format!("{layer:?}")),
        ("InvalidDialect (base) Debug", format!("{bad_base:?}")),
        ("InvalidDialect (base) Display", bad_base.to_string()),
        ("InvalidDialect (name) Debug", format!("{bad_name:?}")),
        ("InvalidDialect (name) Display", bad_name.to_string()),
        ("InvalidOrigin Debug", format!("{bad_origin:?}")),
        ("InvalidOrigin Display", bad_origin.to_string()),
    ];
    let mut leaks = Vec::new();
    for (what, text) in shown {
        assert!(!text.is_empty(), "{what} is empty");
        if text.contains(SECRET) {
            leaks.push(format!("{what}: {text}"));
        }
        // Still says which value it is about, masked.
        assert!(
            text.contains("svc.example") || text.contains("files.example"),
            "{what} no longer names the host: {text}"
        );
    }
    assert!(
        leaks.is_empty(),
        "credentials printed:\n{}",
        leaks.join("\n")
    );
}

/// A type is shown under its public name: rustdoc prints a re-export's signatures and trait
/// impls with the name the type was defined under, and `type_name` reports it.
#[test]
fn re_exported_types_are_defined_under_their_public_names() {
    let name = std::any::type_name::<tower_lro::StatusMeaning>();
    assert!(name.ends_with("::StatusMeaning"), "{name}");
}

/// `Error`'s `Debug` masks credential values as its `Display` does: in what the server sent
/// (an unusable monitor header, an unusable body URL) and in the submission's URL alike.
#[tokio::test(start_paused = true)]
async fn error_debug_never_prints_credentials() {
    use crate::support::mock::{ol, MONITOR, SUB};
    use crate::support::{lro_error, resp, submission, Op};
    use http::Method;

    const SECRET: &str = "s3cr3t";
    // Not a URL (the IPv6 literal is not closed): quoted as sent.
    let unreadable = format!("http://user:{SECRET}@[::1/ops/1");
    let post = |url: &str| submission(Method::POST, url);
    let cases = [
        (
            "an unusable monitor header",
            post(SUB),
            vec![resp(
                202,
                &[("operation-location", unreadable.as_bytes())],
                "",
            )],
        ),
        (
            "an unusable body URL",
            post(SUB),
            vec![
                ol(MONITOR),
                resp(
                    200,
                    &[],
                    format!(r#"{{"status":"Succeeded","resourceLocation":"{unreadable}"}}"#),
                ),
            ],
        ),
        (
            "an https submission's URL, monitor on http",
            post(&format!(
                "https://svc.example/jobs?subscription-key={SECRET}"
            )),
            vec![ol("http://svc.example/ops/1")],
        ),
    ];
    let mut leaks = Vec::new();
    for (what, req, answers) in cases {
        let mut op = Op::start(LroLayer::new(), req);
        for answer in answers {
            op.answer(answer).await;
        }
        let err = lro_error(op.finish().await);
        for (how, text) in [("Debug", format!("{err:?}")), ("Display", err.to_string())] {
            if text.contains(SECRET) {
                leaks.push(format!("{what}, {how}: {text}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "credentials printed:\n{}",
        leaks.join("\n")
    );
}
