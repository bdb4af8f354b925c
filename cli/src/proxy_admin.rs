//! The proxy's own paths, never forwarded upstream: `/_health` for load balancers and
//! `/metrics` in the Prometheus text format. An upstream path `/_health` or `/metrics` is
//! therefore not reachable through the proxy. Neither is logged.
//!
//! `/metrics` renders the library's counters ([`tower_lro::metrics`]) from a small recorder of
//! the `metrics` facade installed at start-up: counters and gauges, no histograms.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::json;
use tower_lro::store::OperationStore;

use crate::proxy_map::json_response;

/// How long the health check waits for the store.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// The answer for one of the proxy's own paths, or `None` for a request to forward.
pub async fn answer(
    records: &dyn OperationStore,
    method: &Method,
    path: &str,
) -> Option<Response<Full<Bytes>>> {
    let health = match path {
        "/_health" => true,
        "/metrics" => false,
        _ => return None,
    };
    if method != Method::GET && method != Method::HEAD {
        let body = json!({"error": {"code": "MethodNotAllowed", "message": "GET or HEAD"}});
        let mut response = json_response(StatusCode::METHOD_NOT_ALLOWED, &body);
        let allow = HeaderValue::from_static("GET, HEAD");
        response.headers_mut().insert(http::header::ALLOW, allow);
        return Some(response);
    }
    Some(if health {
        health_check(records).await
    } else {
        let mut response = Response::new(Full::new(Bytes::from(render())));
        let text = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, text);
        response
    })
}

/// `200 {"status":"ok"}` when the store answers a read within [`HEALTH_TIMEOUT`], else `503`.
async fn health_check(records: &dyn OperationStore) -> Response<Full<Bytes>> {
    let read = tokio::time::timeout(HEALTH_TIMEOUT, records.load("-:lro-proxy-health")).await;
    let error = match read {
        Ok(Ok(_)) => return json_response(StatusCode::OK, &json!({"status": "ok"})),
        Ok(Err(e)) => crate::redact::text(&e.to_string()),
        Err(_) => format!("the operation store did not answer within {HEALTH_TIMEOUT:?}"),
    };
    let body =
        json!({"status": "unavailable", "error": {"code": "StoreUnavailable", "message": error}});
    json_response(StatusCode::SERVICE_UNAVAILABLE, &body)
}

/// One series: a counter's value, or a gauge's `f64` bits.
type Series = Arc<AtomicU64>;

/// One metric: its kind (`counter`, `gauge`) and its series by rendered labels.
type Family = (&'static str, BTreeMap<String, Series>);

/// The recorder's metrics, by name.
#[derive(Default)]
struct Registry {
    names: Mutex<BTreeMap<String, Family>>,
}

impl Registry {
    fn series(&self, kind: &'static str, key: &Key) -> Series {
        let mut labels = String::new();
        for (i, label) in key.labels().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            // The text format's escapes: a backslash, a quote and a line feed.
            let value = label
                .value()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(labels, "{sep}{}=\"{value}\"", label.key());
        }
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let (_, series) = names
            .entry(key.name().to_owned())
            .or_insert_with(|| (kind, BTreeMap::new()));
        series.entry(labels).or_default().clone()
    }
}

/// The recorder the proxy installs: every counter and gauge of the process, in [`REGISTRY`].
struct Prometheus;

static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();

fn registry() -> &'static Registry {
    REGISTRY.get_or_init(Registry::default)
}

impl Recorder for Prometheus {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(registry().series("counter", key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(registry().series("gauge", key))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// Installs the recorder (once per process) and shows the library's series at zero.
pub fn install() {
    if metrics::set_global_recorder(Prometheus).is_err() {
        return;
    }
    use tower_lro::metrics as m;
    for name in [
        m::STARTED,
        m::RESUMED,
        m::ATTACHED,
        m::RESUBMITTED,
        m::POLLS,
    ] {
        metrics::counter!(name).increment(0);
    }
    metrics::gauge!(m::IN_FLIGHT).set(0.0);
    crate::proxy_limits::show_at_zero();
}

/// Every series in the Prometheus text format (0.0.4).
fn render() -> String {
    let names = registry().names.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::new();
    for (name, (kind, series)) in names.iter() {
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in series {
            let bits = value.load(Ordering::Relaxed);
            let _ = match *kind {
                "gauge" if labels.is_empty() => writeln!(out, "{name} {}", f64::from_bits(bits)),
                "gauge" => writeln!(out, "{name}{{{labels}}} {}", f64::from_bits(bits)),
                _ if labels.is_empty() => writeln!(out, "{name} {bits}"),
                _ => writeln!(out, "{name}{{{labels}}} {bits}"),
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        let registry = Registry::default();
        let key = Key::from_parts("lro_x_total", vec![metrics::Label::new("outcome", "a\"b")]);
        registry
            .series("counter", &key)
            .fetch_add(3, Ordering::Relaxed);
        let gauge = registry.series("gauge", &Key::from_name("lro_g"));
        gauge.store(2.0f64.to_bits(), Ordering::Relaxed);
        let names = registry.names.lock().unwrap();
        assert_eq!(
            names["lro_x_total"].1["outcome=\"a\\\"b\""].load(Ordering::Relaxed),
            3
        );
        assert_eq!(names["lro_g"].0, "gauge");
    }

    #[test]
    fn a_line_feed_in_a_label_cannot_break_a_line() {
        let registry = Registry::default();
        let key = Key::from_parts("lro_y_total", vec![metrics::Label::new("k", "a\nb\\")]);
        registry.series("counter", &key);
        let names = registry.names.lock().unwrap();
        let labels: Vec<&String> = names["lro_y_total"].1.keys().collect();
        assert_eq!(labels, ["k=\"a\\nb\\\\\""]);
    }
}
