//! `--aws-sigv4` with `-u KEY:SECRET` and a session token header: the submission, every poll
//! and the final fetch are signed, each checked here by recomputing its signature with the same
//! signer (`aws-sigv4`) from what the server received; a request to another origin, and every
//! one after it, carries no credential.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::dialect_fixtures::fixture;
use crate::support::{lro, now, resp, Mock, Run, Seen};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "SECRET-wJalrXUtnFEMI";
const TOKEN: &str = "TOKEN-FwoGZXIvYXdz";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

type Base = Arc<OnceLock<String>>;

/// `/jobs`: 202 to `{monitor}/ops/1`; `/ops/1`: running for two polls, then succeeded with the
/// resource at `{resource}/things/1`; `/things/1`: the resource. An unset base is the mock's own.
async fn server(monitor: Base, resource: Base) -> Mock {
    let polls = Arc::new(AtomicUsize::new(0));
    Mock::start(move |req, base| {
        let at = |b: &Base| b.get().cloned().unwrap_or_else(|| base.to_owned());
        match req.target.split('?').next().unwrap() {
            "/jobs" => resp(
                202,
                &[
                    ("operation-location", format!("{}/ops/1", at(&monitor))),
                    now(),
                ],
                "",
            ),
            "/ops/1" if polls.fetch_add(1, Ordering::SeqCst) < 2 => {
                resp(200, &[now()], r#"{"status":"Running"}"#)
            }
            "/ops/1" => resp(
                200,
                &[("resource-location", format!("{}/things/1", at(&resource)))],
                r#"{"status":"Succeeded"}"#,
            ),
            "/things/1" => resp(200, &[], r#"{"thing":1}"#),
            _ => resp(404, &[], ""),
        }
    })
    .await
}

/// `YYYYMMDDTHHMMSSZ` (x-amz-date) as a time.
fn amz_date(text: &str) -> SystemTime {
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(9..11) * 3600 + n(11..13) * 60 + n(13..15);
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

/// The Authorization the signer computes for what `seen` received (its signed headers, its
/// date, its body), with `secret`.
fn expected_authorization(seen: &Seen, secret: &str, region: &str, service: &str) -> String {
    let auth = seen.headers["authorization"].to_str().unwrap();
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_else(|| panic!("no SignedHeaders in {auth}"));
    let headers: Vec<(&str, &str)> = signed
        .split(';')
        .map(|name| {
            let value = seen
                .headers
                .get(name)
                .unwrap_or_else(|| panic!("{name} signed, not sent"));
            (name, value.to_str().unwrap())
        })
        .collect();
    let host = seen.headers["host"].to_str().unwrap();
    let token = seen
        .headers
        .get("x-amz-security-token")
        .map(|v| v.to_str().unwrap().to_owned());
    let identity = Credentials::new(KEY, secret, token, None, "test").into();
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let time = amz_date(seen.headers["x-amz-date"].to_str().unwrap());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = format!("http://{host}{}", seen.target);
    let request = SignableRequest::new(
        &seen.method,
        uri,
        headers.into_iter(),
        SignableBody::Bytes(&seen.body),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let (name, value) = instructions
        .headers()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .unwrap();
    assert_eq!(name.to_ascii_lowercase(), "authorization");
    value.to_owned()
}

/// `seen` carries a valid SigV4 signature for (region, service) by KEY/SECRET with TOKEN.
fn assert_signed(seen: &Seen, region: &str, service: &str) {
    let what = format!("{} {}", seen.method, seen.target);
    let auth = seen.headers["authorization"].to_str().unwrap();
    let date = &seen.headers["x-amz-date"].to_str().unwrap()[..8];
    let scope =
        format!("AWS4-HMAC-SHA256 Credential={KEY}/{date}/{region}/{service}/aws4_request, ");
    assert!(auth.starts_with(&scope), "{what}: {auth}");
    for name in ["host", "x-amz-date", "x-amz-security-token"] {
        assert!(auth.contains(name), "{what}: {name} not signed: {auth}");
    }
    assert_eq!(seen.headers["x-amz-security-token"], TOKEN, "{what}");
    assert_eq!(
        auth,
        expected_authorization(seen, SECRET, region, service),
        "{what}: the signature does not verify"
    );
    // The check can fail: another secret gives another signature.
    assert_ne!(
        auth,
        expected_authorization(seen, "not-the-secret", region, service)
    );
}

/// No credential of any kind.
fn assert_unsigned(seen: &Seen) {
    let what = format!("{} {}", seen.method, seen.target);
    assert!(
        seen.headers.get("authorization").is_none(),
        "{what}: {:?}",
        seen.headers
    );
    for (name, _) in &seen.headers {
        assert!(!name.as_str().starts_with("x-amz-"), "{what}: {name} sent");
    }
}

/// The scope the resume tests sign for.
const WEST: &str = "aws:amz:us-west-2:execute-api";

/// `lro --aws-sigv4 {scope}` with the key pair (`-u`) and the session token (`-H`), then `args`.
async fn lro_signed(scope: &str, args: &[&str]) -> Run {
    let user = format!("{KEY}:{SECRET}");
    let token = format!("x-amz-security-token: {TOKEN}");
    let sign = ["--aws-sigv4", scope, "-u", &user, "-H", &token];
    lro(&[&sign[..], args].concat()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_submission_every_poll_and_the_fetch_are_signed() {
    let mock = server(Base::default(), Base::default()).await;
    let url = format!("{}/jobs?x=a%20b", mock.base);
    let run = lro_signed(
        "aws:amz:us-east-1:s3",
        &[
            "-v",
            "-H",
            "x-amz-meta-note: kept",
            "--json",
            r#"{"go":1}"#,
            &url,
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 1);
    assert!(
        !run.stderr.contains(SECRET) && !run.stderr.contains(TOKEN),
        "{}",
        run.stderr
    );

    let seen = mock.requests();
    let paths: Vec<&str> = seen
        .iter()
        .map(|s| s.target.split('?').next().unwrap())
        .collect();
    assert_eq!(paths, ["/jobs", "/ops/1", "/ops/1", "/ops/1", "/things/1"]);
    for s in &seen {
        assert_signed(s, "us-east-1", "s3");
        // S3 takes the payload's hash, which the signature covers.
        assert!(s.headers["authorization"]
            .to_str()
            .unwrap()
            .contains("x-amz-content-sha256"));
        // A user's x-amz-* header is signed too, on the submission and the polls it is carried to.
        assert!(s.headers["authorization"]
            .to_str()
            .unwrap()
            .contains("x-amz-meta-note"));
    }
    assert_eq!(seen[0].body.as_ref(), br#"{"go":1}"#);
    assert_ne!(seen[0].headers["x-amz-content-sha256"], EMPTY_SHA256);
    assert_eq!(seen[1].headers["x-amz-content-sha256"], EMPTY_SHA256);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_origin_gets_no_signature_nor_anything_after_it() {
    // The monitor is on the other origin; the resource it names back on the submission's.
    let (monitor, resource) = (Base::default(), Base::default());
    let main = server(monitor.clone(), Base::default()).await;
    let other = server(Base::default(), resource.clone()).await;
    monitor.set(other.base.clone()).unwrap();
    resource.set(main.base.clone()).unwrap();
    let url = format!("{}/jobs", main.base);
    let run = lro_signed("aws:amz:eu-west-1:execute-api", &["-X", "POST", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 1);
    let seen_main = main.requests();
    let paths: Vec<&str> = seen_main.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(paths, ["/jobs", "/things/1"]);
    assert_signed(&seen_main[0], "eu-west-1", "execute-api");
    assert!(
        !seen_main[0].headers["authorization"]
            .to_str()
            .unwrap()
            .contains("x-amz-content-sha256"),
        "only S3 takes the payload hash header"
    );
    // As the layer's credentials: once a request went to another origin, no later one is
    // signed, even back on the submission's (the URL came from the other origin).
    assert_unsigned(&seen_main[1]);
    let seen_other = other.requests();
    assert_eq!(seen_other.len(), 3, "{run:?}");
    for s in &seen_other {
        assert_unsigned(s);
    }
}

/// `-L`'s follow-up after an operation that sent a request to another origin goes unsigned,
/// even back on the submission's origin (the redirect came from a URL the other origin named).
/// The layer sends it as a plain call, with no `LroRequest`: the layer's per-request tag
/// (`LroRequest::credentials_withheld`) cannot say so, and only the signer's own record of the
/// other origin keeps it unsigned (a signer that took the tag for the requests carrying one,
/// and kept its own rule for the rest, signed it).
#[tokio::test(flavor = "multi_thread")]
async fn a_follow_up_after_another_origin_is_not_signed() {
    let (monitor, resource) = (Base::default(), Base::default());
    let main = Mock::start({
        let monitor = monitor.clone();
        move |req, _| match req.target.as_str() {
            "/jobs" => {
                let at = format!("{}/ops/1", monitor.get().unwrap());
                resp(202, &[("operation-location", at), now()], "")
            }
            "/things/1" => resp(302, &[("location", "/final".to_owned())], ""),
            "/final" => resp(200, &[], r#"{"thing":2}"#),
            _ => resp(404, &[], ""),
        }
    })
    .await;
    let other = server(Base::default(), resource.clone()).await;
    monitor.set(other.base.clone()).unwrap();
    resource.set(main.base.clone()).unwrap();
    let url = format!("{}/jobs", main.base);
    let run = lro_signed("aws:amz:eu-west-1:execute-api", &["-L", "-X", "POST", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], 2);
    let seen_main = main.requests();
    let paths: Vec<&str> = seen_main.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(paths, ["/jobs", "/things/1", "/final"]);
    assert_signed(&seen_main[0], "eu-west-1", "execute-api");
    assert_unsigned(&seen_main[1]);
    assert_unsigned(&seen_main[2]);
    for s in &other.requests() {
        assert_unsigned(s);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_signing_options_are_usage_errors_before_anything_is_sent() {
    let mock = server(Base::default(), Base::default()).await;
    let url = format!("{}/jobs", mock.base);
    let user = format!("{KEY}:{SECRET}");
    for args in [
        // No access key.
        vec!["--aws-sigv4", "aws:amz:us-east-1:s3"],
        // A provider the AWS signer does not speak.
        vec!["--aws-sigv4", "goog:x:us-east-1:s3", "-u", &user],
        // A loopback host names no region nor service.
        vec!["--aws-sigv4", "aws:amz", "-u", &user],
    ] {
        let run = lro(&[args.as_slice(), &[url.as_str()]].concat()).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    }
    assert!(mock.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_operation_is_signed_for_its_original_origin() {
    let mock = server(Base::default(), Base::default()).await;
    let url = format!("{}/jobs", mock.base);
    let started = lro_signed(WEST, &["--no-wait", "-X", "POST", &url]).await;
    assert_eq!(started.code, 0, "{started:?}");
    // The handle names no credential value.
    assert!(!started.stdout.contains(SECRET) && !started.stdout.contains(TOKEN));
    let file = crate::support::temp_dir("sigv4-resume").join("handle.json");
    std::fs::write(&file, &started.stdout).unwrap();
    let resumed = lro_signed(WEST, &["--resume", file.to_str().unwrap()]).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    let seen = mock.requests();
    let paths: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(paths, ["/jobs", "/ops/1", "/ops/1", "/ops/1", "/things/1"]);
    for s in &seen {
        assert_signed(s, "us-west-2", "execute-api");
    }
}

/// A handle whose operation had sent a request to another origin (`credentials_withheld`)
/// resumes unsigned, as the layer resumes it without the `-H` credentials: the monitor on the
/// submission's origin was named by the other one. The signer started afresh and signed every
/// poll, the fetch, and `--cancel`'s `DELETE`, with the session token.
#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_operation_that_withheld_credentials_is_not_signed() {
    let mock = server(Base::default(), Base::default()).await;
    let handle = format!(
        r#"{{"version":1,"rule":"operation-location","method":"POST","request_url":"{b}/jobs",
        "operation_url":"{b}/ops/1","final_state":"auto","submission_location":null,
        "operation_id":null,"origin":"{b}","header_names":[],"polls":1,
        "credentials_withheld":true}}"#,
        b = mock.base
    );
    let file = crate::support::temp_dir("sigv4-withheld").join("handle.json");
    std::fs::write(&file, &handle).unwrap();
    let path = file.to_str().unwrap();
    let cancelled = lro_signed(WEST, &["--cancel", path]).await;
    let resumed = lro_signed(WEST, &["--resume", path]).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    let seen = mock.requests();
    let paths: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(
        paths,
        ["/ops/1", "/ops/1", "/ops/1", "/things/1"],
        "{cancelled:?}"
    );
    assert_eq!(seen[0].method, "DELETE");
    for s in &seen {
        assert_unsigned(s);
    }
}

/// Amazon Transcribe over the AWS JSON protocol (`--dialect @aws-transcribe-job.json`): the
/// `POST /` checks carry a JSON body, and their signatures cover it (recomputed here from the
/// body the server received).
#[tokio::test(flavor = "multi_thread")]
async fn json_protocol_checks_are_signed_with_their_bodies() {
    let checks = Arc::new(AtomicUsize::new(0));
    let mock = Mock::start(move |req, base| {
        let target = req.headers.get("x-amz-target").map(|v| v.to_str().unwrap());
        let job = |status: &str, extra: &str| {
            format!(r#"{{"TranscriptionJob":{{"TranscriptionJobName":"my-job","TranscriptionJobStatus":"{status}"{extra}}}}}"#)
        };
        match (req.method.as_str(), req.target.as_str(), target) {
            ("POST", "/", Some("Transcribe.StartTranscriptionJob")) => {
                resp(200, &[now()], &job("IN_PROGRESS", ""))
            }
            ("POST", "/", Some("Transcribe.GetTranscriptionJob"))
                if checks.fetch_add(1, Ordering::SeqCst) == 0 =>
            {
                resp(200, &[now()], &job("QUEUED", ""))
            }
            ("POST", "/", Some("Transcribe.GetTranscriptionJob")) => {
                let uri = format!(r#","Transcript":{{"TranscriptFileUri":"{base}/out/my-job.json"}}"#);
                resp(200, &[], &job("COMPLETED", &uri))
            }
            ("GET", "/out/my-job.json", _) => resp(200, &[], r#"{"transcript":"hello"}"#),
            _ => resp(404, &[], ""),
        }
    })
    .await;
    let dialect = fixture("aws-transcribe-job");
    let run = lro_signed(
        "aws:amz:us-east-1:transcribe",
        &[
            "-H",
            "x-amz-target: Transcribe.StartTranscriptionJob",
            "-H",
            "content-type: application/x-amz-json-1.1",
            "--dialect",
            &dialect,
            "-d",
            r#"{"TranscriptionJobName":"my-job"}"#,
            &format!("{}/", mock.base),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["transcript"], "hello");
    let seen = mock.requests();
    let what: Vec<(&str, &str)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.target.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            ("POST", "/"),
            ("POST", "/"),
            ("POST", "/"),
            ("GET", "/out/my-job.json")
        ]
    );
    for s in &seen {
        assert_signed(s, "us-east-1", "transcribe");
    }
    for check in &seen[1..3] {
        assert_eq!(
            check.headers["x-amz-target"],
            "Transcribe.GetTranscriptionJob"
        );
        assert_eq!(check.headers["content-type"], "application/x-amz-json-1.1");
        assert_eq!(check.body.as_ref(), br#"{"TranscriptionJobName":"my-job"}"#);
    }
}
