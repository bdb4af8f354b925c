//! The LRO routes of Azure's SDK test server (`Azure/autorest.testserver`:
//! `legacy/routes/lros.js` and `lroParameterizedEndpoints.js`, `src/test-routes/lro/*.ts`),
//! replayed on a loopback [`MockServer`] under the same paths.
//!
//! Written from the routes' behaviour, family by family as the server groups them. Where the
//! server tells calls apart with its `scenario` cookie (first call one answer, the next call
//! another), the mock counts the route's hits; the spellings of one URL with and without a
//! trailing slash (Express routes both to one handler) share a count. The server's quirks are
//! kept: no `Content-Type` where Express' `res.end` sends none, a number as an OData error
//! `code`, truncated JSON, a `Location` that is not a URL. `utils.send400` answers
//! `{"message": …, "status": 400}`. The custom header routes answer `400` to a request without
//! the client request id [`CLIENT_ID`], as the server does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http::Method;

use crate::support::{MockServer, Reply};

/// The `x-ms-client-request-id` the custom header routes insist on (every replayed request
/// carries it, as the SDKs' tests send it).
pub const CLIENT_ID: &str = "9C4D50EE-2D56-4CD3-8152-34347DC9F2B0";

/// A resource body as the routes write it.
pub fn res(state: &str) -> String {
    format!(
        r#"{{ "properties": {{ "provisioningState": "{state}"}}, "id": "100", "name": "foo" }}"#
    )
}

/// The sub-resource body of the `putsubresource` routes.
pub fn sub(state: &str) -> String {
    format!(
        r#"{{ "properties": {{ "provisioningState": "{state}"}}, "id": "100", "subresource": "sub1" }}"#
    )
}

/// The non-resource body of the `putnonresource` routes.
pub const SKU: &str = r#"{ "name": "sku" , "id": "100" }"#;

/// A status body as the server writes it (`{ "status": "…"}`).
pub fn status(word: &str) -> String {
    format!(r#"{{ "status": "{word}"}}"#)
}

/// `res.status(n).type("json").end(body)`.
fn json(code: u16, body: impl Into<String>) -> Reply {
    Reply::new(code).json(body.into())
}

/// `res.status(n).end(body)`: no `Content-Type`.
fn raw(code: u16, body: impl Into<String>) -> Reply {
    Reply::new(code).body(body.into())
}

/// `utils.send400(res, next, message)`.
fn bad_request(message: &str) -> Reply {
    json(400, format!(r#"{{"message":"{message}","status":400}}"#))
}

fn pascal(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Adds `Azure-AsyncOperation`, `Location` (either may be left out) and `Retry-After: 0` when
/// the route is a `retry` one.
fn heads(mut reply: Reply, aao: Option<&str>, location: Option<&str>, retry: bool) -> Reply {
    if let Some(url) = aao {
        reply = reply.header("Azure-AsyncOperation", url);
    }
    if let Some(url) = location {
        reply = reply.header("Location", url);
    }
    if retry {
        reply = reply.header("Retry-After", "0");
    }
    reply
}

struct Routes<'a> {
    server: &'a MockServer,
    /// The router's mount point: `/lro`.
    prefix: &'static str,
}

impl Routes<'_> {
    /// The absolute URL of `path` under the mount point, as `getRequestBaseUrl(req) + path`.
    fn at(&self, path: &str) -> String {
        self.server.url(&format!("{}{path}", self.prefix))
    }

    /// Answers the n-th call of `path` (any of `paths`, one count) with `replies[n]`, the last
    /// one from then on. `id`: a call without [`CLIENT_ID`] gets a `400`.
    fn seq(&self, method: Method, paths: &[&str], replies: Vec<Reply>, id: bool) {
        let count = Arc::new(AtomicUsize::new(0));
        let replies = Arc::new(replies);
        for path in paths {
            let (count, replies) = (count.clone(), replies.clone());
            let path = format!("{}{path}", self.prefix);
            self.server.route(method.clone(), &path, move |r, _| {
                let sent = r.header("x-ms-client-request-id");
                if id && !sent.is_some_and(|v| v.eq_ignore_ascii_case(CLIENT_ID)) {
                    return bad_request("Did not receive the correct x-ms-client-request-id");
                }
                let n = count.fetch_add(1, Ordering::SeqCst);
                replies[n.min(replies.len() - 1)].clone()
            });
        }
    }

    fn one(&self, method: &Method, path: &str, reply: Reply) {
        let path = format!("{}{path}", self.prefix);
        self.server.always(method.clone(), &path, reply);
    }

    /// A cookie scenario: the first call gets `first`, the calls after it `then`.
    fn two(&self, method: &Method, paths: &[&str], first: Reply, then: Reply) {
        self.seq(method.clone(), paths, vec![first, then], false);
    }
}

const PUT: &Method = &Method::PUT;
const PATCH: &Method = &Method::PATCH;
const POST: &Method = &Method::POST;
const GET: &Method = &Method::GET;
const DELETE: &Method = &Method::DELETE;

/// Installs every LRO route of the test server on `server`.
pub fn install(server: &MockServer) {
    let r = Routes {
        server,
        prefix: "/lro",
    };
    happy_paths(&r);
    retry_errors(&r);
    sad_paths(&r);
    custom_header(&r);
    // The parameterized endpoints, mounted elsewhere, answer a relative `Location`.
    let r = Routes { server, prefix: "" };
    for own in [
        "/lroParameterizedEndpoints",
        "/lroConstantParameterizedEndpoints/iAmConstant",
    ] {
        let results = format!("{own}/results/1");
        r.one(
            POST,
            own,
            heads(Reply::new(202), None, Some(&results), false),
        );
        r.one(GET, &results, json(200, r#""success""#));
    }
}

#[rustfmt::skip]
fn happy_paths(r: &Routes<'_>) {
    let bad_location = Some("somethingBadWhichShouldNotBeUsed");
    // Inline completions and the PATCH routes.
    r.one(PUT, "/put/200/succeeded", json(200, res("Succeeded")));
    r.one(PUT, "/put/201/succeeded", json(201, res("Succeeded")));
    let nostate = r#"{"id": "100", "name": "foo" }"#;
    r.one(PUT, "/put/200/succeeded/nostate", json(200, nostate));
    let crash = r.at("/fakeurl_crash_with_404_you_should_not_call_this");
    r.one(PATCH, "/patch/200/succeeded/ignoreheaders", heads(json(200, res("Succeeded")), Some(&crash), None, false));
    let own = "/patch/201/retry/onlyAsyncHeader";
    let body = |state: &str| format!(r#"{{ "properties": {{ "provisioningState": "{state}"}}, "id": "/lro{own}", "name": "foo" }}"#);
    r.one(GET, own, json(200, body("Succeeded")));
    let op = format!("{own}/operationStatuses/201");
    r.one(PATCH, own, heads(json(201, body("Accepted")), Some(&r.at(&op)), None, false));
    let op_body = |word: &str| format!(r#"{{ "id": "/lro{op}", "name": "201", "resourceId": "/lro{own}", "status": "{word}" }}"#);
    r.two(GET, &[&op], json(200, op_body("Accepted")), json(200, op_body("Succeeded")));
    let own = "/patch/202/retry/asyncAndLocationHeader";
    let body = format!(r#"{{ "properties": {{ "provisioningState": "Succeeded"}}, "id": "/lro{own}", "name": "foo" }}"#);
    r.one(GET, own, json(200, body.clone()));
    let (op, fin) = (format!("{own}/operationResults/202"), format!("{own}/operationResults/202/finalResults/202"));
    r.one(PATCH, own, heads(json(202, body), Some(&r.at(&op)), Some(&r.at(&fin)), false));
    r.two(GET, &[&op], json(200, status("InProgress")), json(200, status("Succeeded")));
    let fin_body = format!(r#"{{ "id": "/lro{fin}", "type": "AsyncAndLocationHeader/Operationresults/finalResults", "name": "202" }}"#);
    r.one(GET, &fin, json(200, fin_body));

    // PUT answered 202 + Location, then the resource at the monitor.
    let loc = r.at("/put/202/retry/operationResults/200");
    r.one(PUT, "/put/202/retry/200", heads(Reply::new(202), None, Some(&loc), false));
    r.one(GET, "/put/202/retry/operationResults/200", json(200, nostate));

    // `/put/:initialCode/:initialState/:finalState/:finalCode`: the resource polled itself.
    for (ic, is, fs, fc) in [(201, "creating", "succeeded", 200), (200, "updating", "succeeded", 200), (201, "created", "failed", 200), (200, "accepted", "canceled", 200)] {
        let path = format!("/put/{ic}/{is}/{fs}/{fc}");
        r.one(PUT, &path, raw(ic, res(&pascal(is))));
        r.one(GET, &path, raw(fc, res(&pascal(fs))));
    }

    // `/putasync`, `/deleteasync` and `/postasync/:retry/:finalState`.
    let families = [
        (PUT, "putasync", [("retry", "succeeded"), ("noretry", "succeeded"), ("retry", "failed"), ("noretry", "canceled")]),
        (DELETE, "deleteasync", [("retry", "succeeded"), ("noretry", "succeeded"), ("retry", "failed"), ("retry", "canceled")]),
        (POST, "postasync", [("retry", "succeeded"), ("noretry", "succeeded"), ("retry", "failed"), ("retry", "canceled")]),
    ];
    for (method, family, cases) in families {
        for (retry, fs) in cases {
            let (hint, state, is_post) = (retry == "retry", pascal(fs), family == "postasync");
            let op_path = format!("/{family}/{retry}/{fs}/operationResults/200");
            let (op, slashed) = (r.at(&op_path), r.at(&format!("{op_path}/")));
            let fin = format!("/postasync/{retry}/Succeeded/operationResults/foo/200");
            let location = if is_post { r.at(&format!("{fin}/")) } else { slashed.clone() };
            let first = match family {
                "putasync" => raw(200, res("Accepted")),
                "postasync" => raw(202, res("Accepted")),
                _ => Reply::new(202),
            };
            r.one(method, &format!("/{family}/{retry}/{fs}"), heads(first, Some(&slashed), Some(&location), hint));
            let location = if is_post { location } else { op.clone() };
            let running = heads(raw(202, status("Accepted")), Some(&op), Some(&location), hint);
            let done = match (is_post, fs) {
                (true, "failed") => r#"{ "status": "Failed", "error": { "code": 500, "message": "Internal Server Error"}}"#.to_owned(),
                (true, _) => format!(r#"{{ "status": "{state}", "properties": {{ "provisioningState": "Succeeded"}}, "id": "100", "name": "foo" }}"#),
                _ => status(&state),
            };
            r.two(GET, &[&op_path, &format!("{op_path}/")], running, raw(200, done));
            if family == "putasync" {
                r.one(GET, &format!("/putasync/{retry}/{fs}"), json(200, res(&state)));
            }
            if is_post {
                r.seq(GET.clone(), &[&fin, &format!("{fin}/")], vec![raw(200, res("Succeeded"))], false);
            }
        }
    }

    // `noheader`, `subresource`, `nonresource`: monitors whose running answer has no header.
    let op = "/put/noheader/operationresults";
    r.one(PUT, "/put/noheader/202/200", heads(raw(202, res("Accepted")), None, Some(&r.at(op)), false));
    r.two(GET, &[op], Reply::new(202), json(200, res("Succeeded")));
    let op = "/putasync/noheader/operationresults/123";
    r.one(PUT, "/putasync/noheader/201/200", heads(raw(201, res("Accepted")), Some(&r.at(op)), bad_location, false));
    r.one(GET, "/putasync/noheader/201/200", json(200, res("Succeeded")));
    r.two(GET, &[op], json(200, status("InProgress")), json(200, status("Succeeded")));
    let op = "/delete/noheader/operationresults/123";
    r.one(DELETE, "/delete/noheader", heads(Reply::new(202), None, Some(&r.at(op)), false));
    r.two(GET, &[op], Reply::new(202), Reply::new(204));
    let op = "/deleteasync/noheader/operationresults/123";
    r.one(DELETE, "/deleteasync/noheader/202/204", heads(Reply::new(202), Some(&r.at(op)), bad_location, false));
    r.two(GET, &[op], json(200, status("InProgress")), json(200, status("Succeeded")));
    for (name, accepted, done) in [("putsubresource", sub("Accepted"), sub("Succeeded")), ("putnonresource", String::new(), SKU.to_owned())] {
        let op = format!("/{name}/operationresults");
        r.one(PUT, &format!("/{name}/202/200"), heads(raw(202, accepted.clone()), None, Some(&r.at(&op)), false));
        r.two(GET, &[&op], Reply::new(202), json(200, done.clone()));
        let op = format!("/{name}async/operationresults/123");
        r.one(PUT, &format!("/{name}async/202/200"), heads(raw(202, accepted), Some(&r.at(&op)), bad_location, false));
        r.one(GET, &format!("/{name}async/202/200"), json(200, done));
        r.two(GET, &[&op], json(200, status("InProgress")), json(200, status("Succeeded")));
    }

    // `/delete/provisioning/:initialCode/:initialState/:finalCode/:finalState`.
    for (is, fs) in [("accepted", "succeeded"), ("deleting", "failed"), ("deleting", "canceled")] {
        let path = format!("/delete/provisioning/202/{is}/200/{fs}");
        r.one(DELETE, &path, heads(raw(202, res(&pascal(is))), None, Some(&r.at(&path)), true));
        r.one(GET, &path, raw(200, res(&pascal(fs))));
    }
    r.one(DELETE, "/delete/204/succeeded", Reply::new(204));
    for (retry, fc) in [("retry", 200), ("noretry", 204)] {
        let path = format!("/delete/202/{retry}/{fc}");
        r.one(DELETE, &path, heads(Reply::new(202), None, Some(&r.at(&path)), retry == "retry"));
        r.one(GET, &path, Reply::new(fc));
    }

    // `/post/:initialCode/:retry/:finalCode`: the monitor's running answer moves it.
    for (retry, fc) in [("retry", 200), ("noretry", 204)] {
        let (path, newuri, hint) = (format!("/post/202/{retry}/{fc}"), format!("/post/newuri/202/{retry}/{fc}"), retry == "retry");
        r.one(POST, &path, heads(Reply::new(202), None, Some(&r.at(&path)), hint));
        r.one(GET, &path, heads(Reply::new(202), None, Some(&r.at(&newuri)), hint));
        r.one(GET, &newuri, if fc == 200 { json(200, res("Succeeded")) } else { Reply::new(fc) });
    }
    let path = "/post/payload/200";
    r.one(POST, path, heads(Reply::new(202), None, Some(&r.at(path)), true));
    r.one(GET, path, json(200, r#"{"id":"1", "name":"product"}"#));

    // The double headers (`final-state-via` in the swagger) and the list result.
    for name in ["FinalAzureHeaderGet", "FinalAzureHeaderGetDefault", "FinalLocationGet"] {
        let own = format!("/LROPostDoubleHeaders{name}");
        let (op, loc) = (format!("{own}/asyncOperationUrl"), format!("{own}/location"));
        r.one(POST, &own, heads(raw(202, ""), Some(&r.at(&op)), Some(&r.at(&loc)), false));
        if name == "FinalAzureHeaderGet" {
            r.one(GET, &op, json(200, r#"{ "status": "succeeded", "id": "100"} "#));
            r.one(GET, &loc, bad_request("You must NOT do a final GET on Location"));
        } else {
            r.one(GET, &op, json(200, r#"{ "status": "succeeded"} "#));
            r.one(GET, &loc, json(200, r#"{ "id": "100", "name": "foo" }"#));
        }
    }
    r.one(POST, "/list", heads(Reply::new(202), Some(&r.at("/list/pollingGet")), Some(&r.at("/list/finalGet")), false));
    r.one(GET, "/list/pollingGet", raw(200, r#"{ "status": "Succeeded" }"#));
    r.one(GET, "/list/finalGet", json(200, r#"[{ "id": "100", "name": "foo" }]"#));
}

/// `/retryerror/...`: every route answers its first call `500`.
#[rustfmt::skip]
fn retry_errors(r: &Routes<'_>) {
    let fail = || Reply::new(500);
    let path = "/retryerror/put/201/creating/succeeded/200";
    r.two(PUT, &[path], fail(), raw(201, res("Creating")));
    r.two(GET, &[path], fail(), json(200, res("Succeeded")));

    let path = "/retryerror/putasync/retry/succeeded";
    let op_path = format!("{path}/operationResults/200");
    let op = r.at(&op_path);
    let h = |reply| heads(reply, Some(&op), Some(&op), true);
    r.two(PUT, &[path], h(fail()), h(json(200, res("Creating"))));
    r.two(GET, &[path], fail(), json(200, res("Succeeded")));
    r.two(GET, &[&op_path], fail(), json(200, r#"{ "status": "Succeeded" }"#));

    for path in ["/retryerror/delete/provisioning/202/accepted/200/succeeded", "/retryerror/delete/202/retry/200"] {
        let accepted = if path.contains("provisioning") { res("Accepted") } else { String::new() };
        r.two(DELETE, &[path], fail(), heads(raw(202, accepted), None, Some(&r.at(path)), true));
        r.two(GET, &[path], fail(), json(200, res("Succeeded")));
    }
    let path = "/retryerror/post/202/retry/200";
    let op = format!("{path}/operationResults");
    r.two(POST, &[path], fail(), heads(Reply::new(202), None, Some(&r.at(&op)), true));
    r.two(GET, &[&op], fail(), json(200, res("Succeeded")));

    for (method, family, done) in [(DELETE, "deleteasync", Reply::new(200)), (POST, "postasync", json(200, SKU))] {
        let path = format!("/retryerror/{family}/retry/succeeded");
        let (op, fin) = (format!("{path}/operationResults/200"), format!("{path}/operationResults/foo/200"));
        r.two(method, &[&path], fail(), heads(Reply::new(202), Some(&r.at(&op)), Some(&r.at(&fin)), true));
        r.two(GET, &[&op], fail(), json(200, r#"{ "status": "Succeeded" }"#));
        r.two(GET, &[&fin], fail(), done);
    }
}

/// `/nonretryerror/...` and `/error/...`.
#[rustfmt::skip]
fn sad_paths(r: &Routes<'_>) {
    let expected = || bad_request("Expected bad request message");
    let first = |method: &Method| if method == PUT { json(200, res("Creating")) } else { Reply::new(202) };
    r.one(PUT, "/nonretryerror/put/400", expected());
    r.one(DELETE, "/nonretryerror/delete/400", expected());
    r.one(POST, "/nonretryerror/post/400", raw(400, r#"{"message" : "Expected bad request message"}"#));
    for (suffix, body) in [("", r#"{ "message" : "Error from the server" }"#), ("/invalidjson", r#"<{ "message" : "Error from the server" }"#)] {
        let path = format!("/nonretryerror/put/201/creating/400{suffix}");
        r.one(PUT, &path, raw(201, res("Creating")));
        r.one(GET, &path, raw(400, body));
    }
    // Monitors that answer 400: `(method, submission path, monitor path, answer)`.
    for (method, path, op, answer) in [
        (PUT, "/nonretryerror/putasync/retry/400", "/nonretryerror/putasync/retry/failed/operationResults/400", Reply::new(400)),
        (DELETE, "/nonretryerror/delete/202/retry/400", "/nonretryerror/delete/202/retry/400", expected()),
        (DELETE, "/nonretryerror/deleteasync/retry/400", "/nonretryerror/deleteasync/retry/failed/operationResults/400", expected()),
        (POST, "/nonretryerror/post/202/retry/400", "/nonretryerror/post/202/retry/400", expected()),
        (POST, "/nonretryerror/postasync/retry/400", "/nonretryerror/postasync/retry/failed/operationResults/400", expected()),
    ] {
        let url = r.at(op);
        r.one(method, path, heads(first(method), path.contains("async").then_some(url.as_str()), Some(&url), true));
        r.one(GET, op, answer);
    }

    r.one(PUT, "/error/put/201/noprovisioningstatepayload", Reply::new(201));
    r.one(GET, "/error/put/201/noprovisioningstatepayload", Reply::new(200));
    let truncated = r#"{ "properties": { "provisioningState": "Creating"}, "id": "100", "name": "foo""#;
    r.one(PUT, "/error/put/200/invalidjson", json(200, truncated));
    r.one(GET, "/error/put/200/invalidjson", json(200, truncated));
    r.one(DELETE, "/error/delete/204/nolocation", Reply::new(204));
    r.one(POST, "/error/post/202/nolocation", Reply::new(202));
    // Relative monitors and a `Retry-After` that is not a number.
    for (method, path, aao) in [
        (PUT, "/error/putasync/retry/invalidheader", true),
        (DELETE, "/error/delete/202/retry/invalidheader", false),
        (DELETE, "/error/deleteasync/retry/invalidheader", true),
        (POST, "/error/post/202/retry/invalidheader", false),
        (POST, "/error/postasync/retry/invalidheader", true),
    ] {
        r.one(method, path, heads(first(method), aao.then_some("/foo"), Some("/foo"), false).header("Retry-After", "/bar"));
    }
    // Async monitors answering a body without a status, no body, or truncated JSON.
    for (method, family, what) in [
        (PUT, "putasync", "nostatus"), (PUT, "putasync", "nostatuspayload"), (PUT, "putasync", "invalidjsonpolling"),
        (DELETE, "deleteasync", "nostatus"), (DELETE, "deleteasync", "invalidjsonpolling"),
        (POST, "postasync", "nopayload"), (POST, "postasync", "invalidjsonpolling"),
    ] {
        let op = format!("/error/{family}/retry/failed/operationResults/{what}");
        let url = r.at(&op);
        r.one(method, &format!("/error/{family}/retry/{what}"), heads(first(method), Some(&url), Some(&url), true));
        let answer = match what {
            "nostatus" => json(200, "{ }"),
            "invalidjsonpolling" => json(200, r#"{ "status": "Accepted""#),
            _ => Reply::new(200),
        };
        r.one(GET, &op, answer);
        // The resource itself, where the server has a route for it.
        match what {
            "nostatus" if method == PUT => r.one(GET, "/error/putasync/retry/nostatus", json(200, "{ }")),
            "nostatuspayload" => r.one(GET, "/error/putasync/retry/nostatuspayload", Reply::new(200)),
            _ => {}
        }
    }
}

/// `/customheader/...`: every call must carry [`CLIENT_ID`].
#[rustfmt::skip]
fn custom_header(r: &Routes<'_>) {
    let id = |method: &Method, path: &str, replies: Vec<Reply>| r.seq(method.clone(), &[path], replies, true);
    let path = "/customheader/putasync/retry/succeeded";
    let op_path = format!("{path}/operationResults/200");
    let op = r.at(&op_path);
    id(PUT, path, vec![heads(raw(200, res("Accepted")), Some(&op), Some(&op), true)]);
    id(GET, path, vec![json(200, res("Succeeded"))]);
    id(GET, &op_path, vec![heads(raw(202, status("Accepted")), Some(&op), Some(&op), true), json(200, status("Succeeded"))]);

    let path = "/customheader/postasync/retry/succeeded";
    let op_path = format!("{path}/operationResults/200");
    let op = r.at(&op_path);
    id(POST, path, vec![heads(raw(202, res("Accepted")), Some(&op), None, true)]);
    id(GET, &op_path, vec![heads(raw(202, status("Accepted")), Some(&op), None, true), json(200, status("Succeeded"))]);

    let path = "/customheader/put/201/creating/succeeded/200";
    id(PUT, path, vec![raw(201, res("Creating"))]);
    id(GET, path, vec![json(200, res("Succeeded"))]);

    let (path, newuri) = ("/customheader/post/202/retry/200", "/customheader/post/newuri/202/retry/200");
    id(POST, path, vec![heads(Reply::new(202), None, Some(&r.at(path)), true)]);
    id(GET, path, vec![heads(Reply::new(202), None, Some(&r.at(newuri)), true)]);
    id(GET, newuri, vec![Reply::new(200)]);
}
