//! The public surface's promises that the compiler can check: which types are
//! `Send`/`Sync`/`'static`/`Unpin`, and which convert into `tower::BoxError`.
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
