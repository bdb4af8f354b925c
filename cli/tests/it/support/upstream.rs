//! The loopback upstream the proxy's scope, drain and façade tests share: operations in the
//! default dialect that run until the test says they are done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{resp, Mock};

/// `POST /jobs/{name}` starts the operation `name`, polled at `/ops/{name}`: `Running` (40 %)
/// until [`Upstream::finish`]; then `fail` has failed, `cancel` was canceled, and any other
/// name succeeded with its result at `/things/{name}` (`{"thing":"{name}"}`). `/bad` is
/// refused `400`. The submission's answer and each `Running` carry the wait header the mock
/// was started with.
pub struct Upstream {
    pub mock: Mock,
    done: Arc<AtomicBool>,
}

impl Upstream {
    /// Polled again at once (`Retry-After: 0`).
    pub async fn start() -> Self {
        Self::waiting(super::NOW).await
    }

    /// Polled again after `wait` (a header and its value).
    pub async fn waiting(wait: (&'static str, &'static str)) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let finished = done.clone();
        let mock = Mock::start(move |req, base| {
            let wait = (wait.0, wait.1.to_owned());
            let path = req.target.split('?').next().unwrap();
            if let Some(name) = path.strip_prefix("/jobs/") {
                let monitor = format!("{base}/ops/{name}");
                return resp(202, &[("operation-location", monitor), wait], "");
            }
            if let Some(name) = path.strip_prefix("/ops/") {
                if !finished.load(Ordering::SeqCst) {
                    let running = r#"{"status":"Running","percentComplete":40}"#;
                    return resp(200, &[wait], running);
                }
                return match name {
                    "fail" => resp(
                        200,
                        &[],
                        r#"{"status":"Failed","error":{"code":"QuotaExceeded","message":"no \"room\"\nleft"}}"#,
                    ),
                    "cancel" => resp(200, &[], r#"{"status":"Cancelled"}"#),
                    _ => {
                        let result = ("resource-location", format!("{base}/things/{name}"));
                        resp(200, &[result], r#"{"status":"Succeeded"}"#)
                    }
                };
            }
            if let Some(name) = path.strip_prefix("/things/") {
                let json = ("content-type", "application/json".to_owned());
                return resp(200, &[json], &format!(r#"{{"thing":"{name}"}}"#));
            }
            match path {
                "/bad" => resp(400, &[], r#"{"error":{"code":"Invalid"}}"#),
                _ => resp(404, &[], ""),
            }
        })
        .await;
        Self { mock, done }
    }

    /// The operations are done from now on.
    pub fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
    }

    /// The operations run again (the next ones polled answer `Running`).
    pub fn run_again(&self) {
        self.done.store(false, Ordering::SeqCst);
    }
}
