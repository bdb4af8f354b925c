//! The READMEs' concrete claims, checked as a team that read only them would: the `--dialect`
//! blobs the service table writes out, the `--metadata` fields every file has, the series
//! `/metrics` names, the exit codes `--help` lists.

use serde_json::Value;

use crate::support::client::send;
use crate::support::{lro, now, proxy_on, resp, Mock};

/// `README.md` or `cli/README.md`, by its path from the workspace's root.
fn readme(path: &str) -> String {
    let file = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// What a description says, without its `name` and `doc` (words for people) and with the
/// defaults a description may leave out written in (`start_on`: `[202]`).
fn meaning(mut description: Value) -> Value {
    let object = description
        .as_object_mut()
        .expect("a description is an object");
    object.remove("name");
    object.remove("doc");
    object
        .entry("start_on")
        .or_insert_with(|| serde_json::json!([202]));
    description
}

/// Every `--dialect '…'` of the READMEs' tables that names its fixture ("declared:
/// `x.json`, i.e. `--dialect '…'`") says what the fixture says, and every one is a description
/// `lro` accepts (a refused one would exit 2 before anything is sent).
#[tokio::test]
async fn readme_dialect_blobs_equal_their_fixtures_and_are_accepted() {
    let mut checked = 0;
    let mut differ = Vec::new();
    for path in ["README.md", "cli/README.md"] {
        for row in readme(path).lines().filter(|l| l.starts_with('|')) {
            for (at, _) in row.match_indices("--dialect '") {
                let blob = &row[at + "--dialect '".len()..];
                let blob = &blob[..blob.find("}'").expect("a blob ends with }'") + 1];
                let said: Value = serde_json::from_str(blob)
                    .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {blob}"));
                // `lro` reads it: a connection refused (exit 6) comes after the dialect is read.
                let run = lro(&["-s", "--dialect", blob, "http://127.0.0.1:1/x"]).await;
                assert_eq!(run.code, 6, "{path}: {blob}: {}", run.stderr);
                checked += 1;
                // The fixture this row names, if it names one.
                let Some(name) = row[..at]
                    .rsplit("declared: `")
                    .next()
                    .filter(|_| row[..at].contains("declared: `"))
                    .and_then(|rest| rest.split('`').next())
                else {
                    continue;
                };
                let file = format!(
                    "{}/../tests/fixtures/dialects/{name}",
                    env!("CARGO_MANIFEST_DIR")
                );
                let fixture: Value =
                    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
                if meaning(fixture) != meaning(said) {
                    differ.push(format!("{path}: {name}"));
                }
            }
        }
    }
    assert!(checked >= 16, "only {checked} blobs found");
    assert!(
        differ.is_empty(),
        "blobs that are not their fixture: {differ:?}"
    );
}

/// cli/README (exit code 8): "`"meaning"` and `"canceled"` are in every `--metadata` file" —
/// for an answer that started no operation, and for a server that could not be reached, too.
#[tokio::test]
async fn every_metadata_file_says_meaning_and_canceled() {
    let mock = Mock::start(|_, _| resp(200, &[], "plain")).await;
    let dir = crate::support::temp_dir("readme-metadata");
    let plain = dir.join("plain.json");
    let run = lro(&["-s", &mock.base, "--metadata", plain.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let unreachable = dir.join("unreachable.json");
    let run = lro(&[
        "-s",
        "http://127.0.0.1:1/x",
        "--metadata",
        unreachable.to_str().unwrap(),
    ])
    .await;
    assert_eq!(run.code, 6, "{}", run.stderr);
    for file in [plain, unreachable] {
        let meta: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(meta["meaning"], Value::Null, "{file:?}: {meta}");
        assert_eq!(meta["canceled"], false, "{file:?}: {meta}");
        assert!(meta.get("meaning").is_some(), "{file:?}: {meta}");
        assert_eq!(meta["lro"], false, "{file:?}: {meta}");
    }
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("unreachable.json")).unwrap())
            .unwrap();
    // "`--metadata` (`"dialect"`, for a failure as for a result)"; the error's kind, typed.
    assert_eq!(meta["dialect"], "default", "{meta}");
    assert_eq!(meta["error"]["kind"], "Transport", "{meta}");
}

/// README ("Health and metrics"): `/metrics` names `lro_operations_started_total`,
/// `…_resumed_total`, `…_attached_total`, `…_resubmitted_total`, `lro_polls_total` and the gauge
/// `lro_operations_in_flight`; a fresh proxy shows each of these unlabelled series at 0 (a
/// dashboard's rate or an alert on one has a series before its first event).
#[tokio::test]
async fn a_fresh_proxys_metrics_show_every_unlabelled_series() {
    let mock = Mock::start(|_, _| resp(200, &[], "")).await;
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &mock.base, &[]).await;
    let (status, _, body) = send("GET", &format!("{base}/metrics"), &[], "").await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    for name in [
        "lro_operations_started_total",
        "lro_operations_resumed_total",
        "lro_operations_attached_total",
        "lro_operations_resubmitted_total",
        "lro_polls_total",
        "lro_operations_in_flight",
    ] {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"));
        assert_eq!(value.parse::<f64>().unwrap(), 0.0, "{name}");
    }
}

/// `lro --help` ends with the exit codes; they are the codes of cli/README's table.
#[tokio::test]
async fn help_lists_the_readmes_exit_codes() {
    let readme = readme("cli/README.md");
    let table = readme
        .split("### Exit codes")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let documented: Vec<u16> = table
        .lines()
        .filter_map(|l| l.strip_prefix('|')?.split('|').next()?.trim().parse().ok())
        .collect();
    let run = lro(&["--help"]).await;
    assert_eq!(run.code, 0);
    let help = run
        .stdout
        .split("Exit codes:")
        .nth(1)
        .expect("an exit table");
    let listed: Vec<u16> = help
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(listed, documented, "{help}");
}

/// README, services: "Microsoft Graph copy / OneDrive monitors | `202` + `Location` on another
/// host; `202 {"status":"completed"}` … | nothing". The monitor's `202` with a success word is the
/// operation's terminal answer (it names no resource to fetch): written, exit 0 — not the exit 3
/// of a fetched resource that answers `202` (cli/README: "a resource that answers `202
/// Accepted` after its operation ended").
#[tokio::test]
async fn a_graph_copy_monitors_completed_202_is_a_success() {
    let monitor = Mock::start(|_, _| {
        resp(
            202,
            &[],
            r#"{"status":"completed","resourceId":"01DSY4X2"}"#,
        )
    })
    .await;
    let to = format!("{}/monitor?c=1", monitor.base);
    let graph = Mock::start(move |_, _| resp(202, &[("location", to.clone()), now()], "")).await;
    let copy = format!("{}/v1.0/me/drive/items/1/copy", graph.base);
    let run = lro(&["-s", "-X", "POST", "--json", "{}", &copy]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["resourceId"], "01DSY4X2");
}

/// cli/README lists "a declared dialect's fields"; every field the fixtures and the built-in
/// standards (`fhir`, `ogc-processes`, written in the same language) use is among them, so a
/// reader of that list can read and write any of them.
#[test]
fn the_cli_readme_names_every_field_the_descriptions_use() {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let text = readme("cli/README.md");
    let start = text.find("A declared dialect's fields:").unwrap();
    let list = &text[start..start + text[start..].find("Pointers may choose").unwrap()];
    let mut missing = Vec::new();
    for dir in ["tests/fixtures/dialects", "src/proto/dialect/standards"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            let description: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            // A description, not a file of named cases.
            let Some(fields) = description
                .as_object()
                .filter(|o| o.contains_key("status_url"))
            else {
                continue;
            };
            for field in fields.keys() {
                if !list.contains(&format!("`{field}`")) {
                    missing.push(format!("{field} ({})", path.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fields cli/README does not name: {missing:?}"
    );
}

/// cli/README's proxy table: a failed operation is answered "`422`, or the upstream's own
/// `4xx`/`5xx`". An OData 4.01 monitor ends with `200` and `AsyncResult: 400`: the upstream's
/// own answer to the request was `400` (the layer's README: "the caller sees that status
/// code"), so a synchronous client of the proxy gets `400`, the error body as sent.
#[tokio::test]
async fn the_proxy_answers_an_odata_async_result_with_its_status() {
    let upstream = Mock::start(|req, _| match req.target.as_str() {
        "/People" => resp(202, &[("location", "/monitor/1".to_owned()), now()], ""),
        _ => resp(
            200,
            &[("asyncresult", "400".to_owned())],
            r#"{"error":{"code":"E42","message":"bad input"}}"#,
        ),
    })
    .await;
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &upstream.base, &[]).await;
    let (status, _, body) = send("POST", &format!("{base}/People"), &[], "{}").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let body = crate::support::client::json(&body);
    assert_eq!(body["error"]["code"], "E42", "{body}");
    // cli/README: under an idempotency key, "a failure is answered with the recorded error
    // code and message" — those the first answer gave, not a generic "the operation ended".
    let key = [("idempotency-key", r#""ar-1""#)];
    let mut errors = Vec::new();
    for _ in 0..2 {
        let (_, _, body) = send("POST", &format!("{base}/People"), &key, "{}").await;
        errors.push(crate::support::client::json(&body)["error"].clone());
    }
    assert_eq!(
        upstream.count("/People"),
        2,
        "the retry is answered from the store"
    );
    assert_eq!(errors[0]["code"], "E42", "{errors:?}");
    assert_eq!(errors[1], errors[0]);
}

/// cli/README and `--help` say `-s` does not go with `-v`, and it does not: a usage error (exit
/// 2) before anything is sent.
#[tokio::test]
async fn silent_and_verbose_conflict_as_both_helps_say() {
    let run = lro(&["-s", "-v", "http://127.0.0.1:1/x"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let help = lro(&["--help"]).await;
    let readme = readme("cli/README.md");
    for (text, whose) in [(&help.stdout, "--help"), (&readme, "cli/README")] {
        // The `-s, --silent` entry, with the lines that continue it.
        let entry: String = text
            .split("-s, --silent")
            .nth(1)
            .and_then(|rest| rest.split("-v, --verbose").next())
            .unwrap_or_else(|| panic!("{whose}: no -s entry"))
            .to_owned();
        assert!(entry.contains("not with -v"), "{whose}: {entry}");
    }
}
