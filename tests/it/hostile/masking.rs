//! What errors and the layer's values print: credentials masked in the URLs and values they quote.

use super::*;

/// An error's `Display` masks the credential values in the URLs it names (a SAS `sig=` the
/// server put in its monitor URL, userinfo), while `Error::url()` keeps the URL as it was sent.
#[tokio::test(start_paused = true)]
async fn error_display_masks_credentials_in_urls() {
    let monitor = "https://u:pw-SECRET@svc.example/operations/1?sv=1&sig=SIG-SECRET";
    let mut op = submit(LroLayer::new(), ol(monitor)).await;
    op.answer(resp(200, &[], "not json")).await;
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert_eq!(err.url(), Some(monitor), "the raw accessor keeps the URL");
    let text = err.to_string();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(
        text.contains("https://***@svc.example/operations/1?sv=1&sig=***"),
        "{text}"
    );
}

/// `{:?}` of what the layer hands out — the metadata, a progress report, a resume handle — masks
/// credential values in the URLs it shows, as `Error`'s does; the accessors stay raw.
#[tokio::test(start_paused = true)]
async fn debug_of_metadata_progress_and_handles_masks_credentials() {
    let monitor = "https://svc.example/operations/1?sv=1&sig=SIG-SECRET";
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let layer = LroLayer::new().on_progress(move |p| {
        let handle = p.resume_handle().map(|h| format!("{h:?}"));
        s.lock().unwrap().push(format!("{p:?} {handle:?}"));
    });
    let mut op = submit(layer, ol(monitor)).await;
    op.answer(resp(
        200,
        &[("retry-after", b"1")],
        r#"{"status":"Running"}"#,
    ))
    .await;
    op.answer(resp(
        200,
        &[],
        r#"{"status":"Succeeded","resourceLocation":"/things/1?sig=RES-SECRET"}"#,
    ))
    .await;
    op.answer(resp(200, &[], "{}")).await;
    let response = op.finish().await.unwrap();
    let meta = response.extensions().get::<LroMetadata>().unwrap();
    assert_eq!(meta.operation_url(), monitor, "the accessor stays raw");
    let shown = format!("{meta:?}");
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|p| p.contains("ResumeHandle")), "{seen:?}");
    for text in seen.iter().chain([&shown]) {
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("sig=***"), "{text}");
    }
}

/// A submission URL holding the caller's own secrets (a `user:password@`, an API key in the
/// query), for the error-text tests below.
const SECRET_SUB: &str =
    "https://u:PW-SECRET@svc.example/jobs?subscription-key=KEY-SECRET&api-version=1";

/// Whether `text` holds none of the secrets the error-text tests plant.
fn holds_no_secret(text: &str) -> bool {
    !["PW-SECRET", "KEY-SECRET", "SIG-SECRET"]
        .iter()
        .any(|s| text.contains(s))
}

/// A monitor that downgrades to `http` is refused with an error that names the submission's
/// URL masked, in its message, its `Debug` and its typed reason: before, the caller's own
/// `user:password@` and `subscription-key` were quoted raw ("the submission https://u:PW@…").
#[tokio::test(start_paused = true)]
async fn a_downgrade_names_the_submission_masked() {
    let mut op = Op::start(LroLayer::new(), submission(Method::POST, SECRET_SUB));
    op.answer(ol("http://svc.example/operations/1")).await;
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::Insecure);
    let Reason::BadHeader {
        why: UrlProblem::Downgrade { submission },
        ..
    } = err.reason()
    else {
        panic!("{:?}", err.reason());
    };
    assert_eq!(
        submission,
        "https://***@svc.example/jobs?subscription-key=***&api-version=1"
    );
    assert!(holds_no_secret(&err.to_string()), "{err}");
    assert!(holds_no_secret(&format!("{err:?}")), "{err:?}");
    // The error's URL stays raw, as documented, for a caller to retry with.
    assert_eq!(err.url(), Some(SECRET_SUB));
}

/// An error's `Debug` (what `.unwrap()`, `{:?}` and `tracing`'s `?err` print) masks the
/// credentials of the values it quotes, as its `Display` does: an unusable monitor header or
/// body URL (`ftp://u:p@…?sig=…`) was printed raw inside `reason`. The typed reason keeps the
/// value as sent.
#[tokio::test(start_paused = true)]
async fn an_errors_debug_masks_the_values_it_quotes() {
    const HOSTILE: &str = "ftp://u:PW-SECRET@svc.example/x?sig=SIG-SECRET";
    // A monitor header, as it is and quoted (a spelling the layer reads).
    for value in [HOSTILE.to_owned(), format!(" \"{HOSTILE}\" ")] {
        let op = submit(LroLayer::new(), ol(&value)).await;
        let err = lro_error(op.finish().await);
        assert_eq!(err.kind(), ErrorKind::Insecure, "{value}");
        assert!(
            matches!(err.reason(), Reason::BadHeader { value: v, .. } if v == value.as_str()),
            "{:?}",
            err.reason()
        );
        assert_masked(&err);
    }
    // A URL in a status body.
    let mut op = submit(LroLayer::new(), ol(MONITOR)).await;
    let body = serde_json::json!({"status": "Succeeded", "resourceLocation": HOSTILE});
    op.answer(resp(200, &[], body.to_string())).await;
    let err = lro_error(op.finish().await);
    assert!(
        matches!(err.reason(), Reason::BadBodyUrl { value, .. } if value == HOSTILE),
        "{:?}",
        err.reason()
    );
    assert_masked(&err);
}

/// Neither the error's `Display` nor its `Debug` holds a secret, and the `Debug` quotes the
/// masked URL.
fn assert_masked(err: &tower_lro::Error) {
    assert!(holds_no_secret(&err.to_string()), "{err}");
    let debug = format!("{err:?}");
    assert!(holds_no_secret(&debug), "{debug}");
    assert!(debug.contains("ftp://***@svc.example/x?sig=***"), "{debug}");
}
