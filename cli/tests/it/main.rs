//! The CLI's tests, as one binary (each binary links hyper, tokio, rustls and the library): the
//! built `lro` binary and `lro proxy` against mocks on `127.0.0.1:0`. Helpers live in `support`.
//!
//! `proxy_load` is ignored by default (10 000 sockets); `fleet` starts a real `redis-server`.

mod support;

mod cancel;
mod cancel_answer;
mod canceled;
mod credentials;
mod curl;
mod dialect_fixtures;
mod dialects;
mod drain;
mod facade;
mod facade_credentials;
mod fleet;
mod hostile;
mod large_result;
mod max_time;
mod named_dialects;
mod options;
mod partial_result;
mod proxy;
mod proxy_credentials;
mod proxy_faults;
mod proxy_limits;
mod proxy_load;
mod proxy_store;
mod readme;
mod realservers;
mod realservers_ga4gh;
mod realservers_jobs;
mod resume;
mod scope;
mod seeds;
mod sigv4;
mod ssrf;
mod tls;
mod upstream_pool;
