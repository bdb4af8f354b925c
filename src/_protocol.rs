//! The protocol, as the layer speaks it: what starts an operation, how it is waited for and
//! read, what the caller gets back, what polls carry and where they may go, the dialects (with
//! the schema of a declared one), and the decisions taken where the pattern leaves room.
//!
//! This module holds documentation only. Other docs of the crate link to its sections.
//!
//! Words used throughout: the **submission** is the caller's request and the answer to it; the
//! **status monitor** is the URL the layer polls; the **final response** is the one response
//! the caller gets back.
//!
//! # What starts an operation
//!
//! Every answer to a caller's request is looked at; in the default dialect only these start
//! polling. Anything else (a `202` with nothing to poll, a `400`, …) goes back to the caller as
//! it came, its body streaming and never buffered.
//!
//! | the submission's answer | the layer polls | and reads each answer by |
//! | --- | --- | --- |
//! | `200`/`201`/`202` with `Operation-Location` | that URL | [its status body](#status-bodies) |
//! | `200`/`201`/`202` with `Azure-AsyncOperation` | that URL | [its status body](#status-bodies) |
//! | `202` with `Location` (neither header above) | that URL | [the location rules](#location-monitors) |
//! | `PUT`/`PATCH` answered `200`/`201`, JSON body with a `provisioningState` (top level or under `properties`) that is not terminal | the request's own URL | [provisioning state](#provisioning-state) |
//! | `202` with `Content-Location` (none of the headers above) | that URL | [the location rules](#location-monitors) |
//!
//! A `200`/`201` whose body already reports a terminal `provisioningState` is final as it is.
//! Header names are case-insensitive; a relative URL resolves against the URL of the request
//! that received it (RFC 3986); a value in double quotes is read without them. A header that is
//! present but not an http(s) URL is an error naming the header and the value.
//!
//! Services of [another dialect](#dialects) are resolved when the layer or the request names it.
//!
//! # Waiting between polls
//!
//! - The wait a response asks for is read from `retry-after-ms`, then `x-ms-retry-after-ms`
//!   (milliseconds), then `Retry-After` (seconds or an HTTP-date). A malformed or negative
//!   value is ignored. The submission's own hint sets the wait before the first poll.
//! - Without a hint, the unhinted wait applies (see [the decisions](#decisions)).
//! - Every wait is clamped to the configured bounds, so an absurd hint neither overflows a
//!   timer nor spins. The whole resolution has a deadline, finite by default; a wait that would
//!   end past it fails at once with a timeout that carries a [resume handle](#control).
//! - Timers are `tokio::time`'s: tests run on a paused clock.
//!
//! # Status bodies
//!
//! A JSON object with a string `status`, and optionally `operationId`/`id`,
//! `created`/`createdDateTime`, `percentComplete` (or `percentageComplete`), `error` (OData
//! `code`, `message`, `target`, `details`, `innererror`), `resourceLocation` and `result`.
//!
//! Status words compare case-insensitively, ignoring spaces, `-` and `_`. The default
//! vocabulary:
//!
//! | meaning | words |
//! | --- | --- |
//! | succeeded | `Succeeded`, `Completed`, `Complete`, `Done`, `Success`, `Successful`, `PartiallySucceeded`, `PartiallyCompleted` |
//! | failed | `Failed`, `Failure`, `Error`, `Errored`, `ValidationFailed`, any word ending in `failed` |
//! | canceled | `Canceled`, `Cancelled` |
//! | running | every other word |
//!
//! - A success word beside an `error` object that reports an error (a non-empty `message`, or
//!   a non-empty `errors` or `details` list) is a failure; an `error` with neither is not.
//! - The word as sent is kept in the metadata and in progress reports.
//! - Words can be added per layer ([`LroLayer::status_word`]) or
//!   by a [declared dialect](#declared-dialects).
//! - A word the vocabulary does not know means running, within the deadline; progress reports
//!   and tracing say it was not recognised.
//!
//! A body that is not JSON, has no `status`, or is over the size limit is a protocol error that
//! names the URL and what it sent.
//!
//! # Location monitors
//!
//! Polling a `Location` or `Content-Location` URL:
//!
//! - `202` is still running, unless its body is a status body with a terminal word.
//! - `200`/`201`/`204` is done, unless its body is a status body whose word says it is still
//!   running: then polling goes on. A body whose `status` or `provisioningState` says failed or
//!   canceled is a failure. A `200`/`201` whose body runs over the status body limit is not
//!   a status body: the URL is fetched again as the result, its body streamed unread (the
//!   read stops at the limit, and what was read cannot be handed on); so is a `GET` re-sent
//!   until ready. A `202` over the limit is a protocol error.
//! - An answer that says the operation is still running and carries a `Location` moves the
//!   monitor there, as a `301`/`307`/`308` does ([redirects](#redirects)): the same guard, the
//!   same credential rules.
//! - A final `200` with an `AsyncResult` header (OData 4.01) reports the original request's
//!   outcome: the caller gets that status, and a `4xx`/`5xx` there is a failure.
//!
//! # Redirects
//!
//! - `303` or `302` on a status poll means done: the layer `GET`s the `Location` (resolved
//!   against the monitor's URL) and returns that answer as the [final response](#final-response).
//! - `301`, `307` or `308` means the monitor moved: it is polled at the new URL from then on.
//!   Every hop counts as a poll.
//! - A redirect's target is an origin like any other for [credentials](#poll-requests); a token
//!   the server wrote into the target's query (a SAS or `tempauth`) is kept.
//! - A `3xx` without a usable `Location` is a protocol error.
//! - When a client inside the layer follows redirects itself (reqwest, tower-http's
//!   `FollowRedirect`), the meaning survives: a moved monitor is polled where it moved, and the
//!   target of a `303`/`302` is the final response.
//!
//! # Provisioning state
//!
//! The request's own URL is fetched until `provisioningState` is terminal (`Succeeded`,
//! `Failed`, `Canceled`, any case); on success the last answer is the final response.
//!
//! # Final response
//!
//! On success, the first rule that applies says where the result is; a result URL is fetched
//! with a `GET` whose answer is returned as it comes, streaming:
//!
//! 1. the monitor redirected with `303`/`302`: its target;
//! 2. the terminal status answer has `Resource-Location`: that URL;
//! 3. the terminal status answer is `201` with `Location`: that URL;
//! 4. the terminal status body has `resourceLocation`: that URL;
//! 5. a `PUT`/`PATCH` followed through `Operation-Location`/`Azure-AsyncOperation`: the
//!    request's own URL;
//! 6. a `POST` whose submission also had `Location`: that `Location`;
//! 7. otherwise the terminal status answer itself.
//!
//! [`FinalState`] overrides the choice, per layer or per request.
//!
//! On failure or cancellation the caller gets a typed [`Error`] with the OData
//! error, the operation's id and URL, and the terminal answer's status, headers and body;
//! [`LroLayer::failure_as_response`] returns the terminal
//! answer instead. Poll answers `408`, `429`, `500`, `502`, `503`, `504` and transport errors
//! are retried (honouring their hints) within a budget; another `4xx` on a poll is an error
//! carrying that answer.
//!
//! Every final response carries [`LroMetadata`] in its extensions.
//!
//! # Poll requests
//!
//! A poll is a `GET` with an empty body, sent through the same inner service (after
//! `poll_ready`), so inner layers apply to it. It carries the submission's headers but those
//! that describe its body or connection. Configured query parameters of the submission URL
//! (`api-version` by default) are added to poll and result URLs that lack them. A hook shapes
//! each poll further ([`LroLayer::on_poll_request`]).
//!
//! Rules that are on by default:
//!
//! - Only `http`/`https` URLs are followed, and never from `https` down to `http`.
//! - No credential goes to an origin other than the submission's unless that origin is allowed.
//!   A credential is a header or query parameter on one list ([`credentials`]:
//!   `Authorization`, `Proxy-Authorization`, `Cookie`, `subscription-key`,
//!   `Ocp-Apim-Subscription-Key`, and every name that reads as a secret), plus configured names.
//!   Headers meant for the asked host only (`Metadata`, `Metadata-Flavor`) stay with the
//!   submission's origin. Nothing saved or reported (handles, metadata, progress, errors) holds
//!   a credential's value.
//! - Status and submission bodies are read under a size limit; result bodies stream unread.
//! - A status, redirect or result URL whose host is link-local, unspecified or a cloud metadata
//!   name is refused; one whose host is `localhost`, loopback or private is refused unless the
//!   submission went to such a host. Every spelling of an address counts. The refusal names the
//!   URL, and no connection is attempted. [`connect`] applies the same rule to
//!   resolved addresses. An allowed origin, or turning the guard off, lifts it.
//!
//! # Control
//!
//! - Dropping the response future stops polling at once: the layer spawns no task.
//! - Per request ([`LroOptions`]): turn resolution off, change the deadline
//!   or the final-state choice. A request with `Prefer: respond-async` gets its `202` back
//!   untouched unless its options ask for resolution (OData and FHIR servers answer `202` only
//!   to requests that prefer it).
//! - A timeout or an interrupted resolution yields a [`ResumeHandle`]:
//!   versioned plain JSON with the operation's URL, rule, final-state target, origin and the
//!   names (never the values) of carried headers, resumable through the service without
//!   sending the submission again. It says whether a request had gone to a foreign origin:
//!   a resumed run then carries no credentials either (stripping stays cumulative).
//!
//! # Dialects
//!
//! The default dialect (the sections above) needs no configuration. Others are named per layer
//! ([`LroLayer::dialect`]) or per request, because recognising them
//! would mean reading every plain `200` body. Each reuses the same waits, deadline, retry budget,
//! credential rules, body limits, metadata, progress reports and resume handles.
//!
//! - **Google `Operation`** (AIP-151, JSON over HTTP,
//!   [`Dialect::google`]): the submission answers an `Operation`
//!   (`name`, `done`, `metadata`, then `error` or `response`); it is polled by `name` under the
//!   submission's service root and version (overridable base). `done: true` ends it: `error`
//!   fails (reachable like an OData error), `response` is the final body. Progress is read from
//!   `metadata`.
//! - **Compute Engine `Operation`** ([`Dialect::compute`]): poll
//!   `selfLink`; `DONE` with `error.errors[]` fails; otherwise the `targetLink` is fetched,
//!   except after a delete.
//! - **Declared dialects** ([`Dialect::from_json`]): a description
//!   in data, [below](#declared-dialects).
//! - **Accepted means retry** (safe methods, when asked): a `202` with nothing to poll means
//!   "ask again later"; the same request is sent again after the wait, within the deadline.
//!
//! # Declared dialects
//!
//! A JSON object; unknown members are refused. "Place" below is a JSON pointer string
//! (`"/action/status"`), `{"pointer": "…"}` or `{"header": "…"}`. Pointers are RFC 6901 with
//! selectors: `/links[rel=results]/href` is the `href` of the first element of `links` whose
//! `rel` is `results` (`~2`, `~3`, `~4` escape `[`, `]`, `=`).
//!
//! | member | value | default |
//! | --- | --- | --- |
//! | `name` | a name for messages, metadata and handles | `declared` |
//! | `doc` | where the service documents this (a URL) | none |
//! | `status_url` | a URL source or a list of them, first that finds one wins: `{"header": …}`, `{"pointer": …}`, `{"template": …}`, or `"self"` (the submission's URL) | required |
//! | `start_on` | submission statuses that start polling | `[202]` |
//! | `status_body_on` | poll statuses outside `2xx` whose body is still a status body | none |
//! | `status_word` | the place of the status word, or a list of places, the first that finds a word wins (`null`, a blank string or a blank header is none) (Databricks: `["/state/result_state", "/state/life_cycle_state"]`); may be left out when `status_codes` say everything | none |
//! | `status_codes` | `{"202": "running", "4xx": "failed", …}`: what an answer without a word means (`running`, `succeeded`, `failed`, `canceled`); a class does not cover `408`, `429`, `502`, `503`, `504` unless listed one by one | none |
//! | `progress` | the place of a percentage, `a/b` or `n%` | a top-level `percentComplete` or `progress` |
//! | `operation_id` | the place of the operation's id (a string, or a number written out), read from the submission's answer and every status answer that carries one (the latest wins, an answer without one keeps it): the id metadata and resume handles report, and `/operation_id` of a `cancel` template | no id |
//! | `words` | `{"succeeded": […], "failed": […], "canceled": […], "running": […]}` added to the default vocabulary | none |
//! | `result` | a result source or a list, first that finds one wins: `{"header": …}`, `{"pointer": …}` (a URL), `{"template": …}`, `{"embedded": …}` (the value itself is the final body, as the server wrote it), `{"embedded_json": …}` (a string there is read as the JSON document it holds, which is the final body, a byte order mark before it ignored and not sent on; any other value is the final body as with `embedded`; a string that holds no JSON document fails the operation with kind `Protocol`) | the terminal status answer |
//! | `partial_result` | words that end an operation without success but leave a result (each one the vocabulary reads as failed or canceled; needs `result`): on such a word the `result` sources are read as on success and what they find is delivered, its metadata keeping the word and its meaning; when none finds one the operation ends as the word says | none |
//! | `error` | a pointer or a list of them, the first not `null` wins, its value read by its shape (an OData or Google error's `code`/`message`, a FHIR `OperationOutcome`, an RFC 9457 problem, a text as the message); or `{"code": …, "message": …}`, each a place or a list of places (the first that finds a text not blank wins), for a service that writes the two apart (AWS Step Functions' `{"code": "/error", "message": "/cause"}`): the typed error's `code` and `message` carry them, and one found reports an error | none |
//! | `error_answers` | `"operation-outcome"`: a `4xx`/`5xx` carrying a FHIR `OperationOutcome` fails the operation (all-transient issues are retried) | none |
//! | `error_marks_failure` | left out: an error makes a missing word a failure; `true`: a success word too; `false`: never | left out |
//! | `status_request` | `{"method": "GET"/"HEAD"/"POST", "headers": {…}, "body": {…}}` (a body only with `POST`, its strings templates, sent with `Content-Type: application/json` unless `headers` name a type) | plain `GET` |
//! | `result_request` | the same, for fetching the result; its templates read the terminal status answer | plain `GET` |
//! | `base_url` | an absolute http(s) URL every relative form resolves under, network paths included | the answer's own URL |
//! | `cancel` | `{"method": "DELETE"/"POST"/"PATCH"/"PUT", "url": {"template": …}, "headers": {…}, "body": {…}, "answer": {…}}` (`url` left out: the status URL; `headers` as a `status_request`'s; a body with `POST`, `PATCH` or `PUT`, never `DELETE`; every template reads only `/status_url`, `/operation_id`, `{status_url}`, `{status_url_path}` and `{status_url_query}`; `answer`: `{"word": PLACE, "accepted": […], "refused": […]}`, below) | not cancellable |
//! | `prefer_async` | which submissions without a `Prefer` of their own are sent with `Prefer: respond-async`: `{"method": …, "last_segment": …}` or `{"last_segment_prefix": …}`, every condition given must hold (`{}`: every submission); the last path segment is compared as sent | none |
//!
//! Template placeholders: `{/a/b}` (a pointer into the answer's body), `{number:/a/b}` (the
//! same, when the value is a number or a string that is one as JSON writes it, with no
//! exponent: an integer past 64 bits is held rounded and finds nothing), `{header:Name}`
//! (a header of the answer), `{status_url}`, `{status_url_path}` (the status URL without its
//! query or fragment), `{status_url_query}` (its query, without `?`; empty when it has none),
//! `{submission_url}`. In a URL a value from a body
//! or a header is escaped as one path segment (a value that is `.` or `..` finds nothing: a URL
//! parser would remove it, however spelled, and step up a level; so does an empty one, which
//! would name the collection, `jobs/`, not an item of it); in a body template every
//! value is a JSON string, but a string that is one `{number:…}` alone is a JSON number
//! (Databricks' `{"run_id": "{number:/operation_id}"}` sends `{"run_id": 455644833}`).
//!
//! ```
//! let dialect = tower_lro::Dialect::from_json(r#"{
//!     "name": "digitalocean",
//!     "status_url": {"template": "https://api.digitalocean.com/v2/actions/{/action/id}"},
//!     "start_on": [201],
//!     "status_word": "/action/status",
//!     "words": {"succeeded": ["completed"], "failed": ["errored"]}
//! }"#).unwrap();
//! assert_eq!(dialect.name(), "digitalocean");
//! ```
//!
//! # Decisions
//!
//! Where the pattern is silent, or the documents that describe it disagree:
//!
//! - The deadline is measured from the submission's response, not from the call.
//! - The deadline also bounds the delivered final body while it streams (a fetched resource):
//!   at the deadline the body yields a [`Timeout`](ErrorKind::Timeout) [`Error`] naming the
//!   resource URL and ends. [`LroLayer::bound_final_body`] (or, per request,
//!   [`LroOptions::bound_final_body`]) leaves it unbounded. Pass-through answers, which are not
//!   operations, stream with no timer; so does every body under a `Duration::MAX` deadline.
//! - With no wait hint and no configured interval, the first 5 waits are 1 s, then they double
//!   up to 30 s. An explicit [`LroLayer::poll_interval`] alone is used for every unhinted wait;
//!   with a cap ([`LroLayer::max_poll_interval`], or both at once with
//!   [`LroLayer::poll_backoff`]) waits grow from it to the cap, whatever the order of the calls.
//!   Jitter ([`LroLayer::poll_jitter`]) is off by default and only ever shortens a wait the
//!   layer chose, never a server's hint.
//!   `Retry-After: 0` is honoured as "now": the server allows it, and the poll limit bounds a
//!   server that says it forever. A `Retry-After` date in the past is ignored (a negative delay).
//! - On a `Location` poll, a `200`/`201` keeps polling only when its body's `status` (or
//!   `provisioningState`) is a known in-progress word (`Running`, `NotStarted`, `InProgress`,
//!   `Accepted`, `Creating`, …): a finished resource may carry a `status` of its own (`"Active"`),
//!   and reading it as "still running" would poll until the deadline.
//! - `POST` via `Operation-Location` whose submission also had `Location` fetches that `Location`,
//!   as the Azure SDKs do for both monitor headers.
//! - The resource `GET` is returned whatever its status (a `404` reaches the caller with
//!   [`LroMetadata`]); only transient statuses are retried.
//! - Polls drop the submission's `Host`, `Content-*`, `Transfer-Encoding`, `Expect`, hop-by-hop headers (and those `Connection` names), conditional ones (`If-*`, `Range`), `Prefer`, `Idempotency-Key` and `Repeatability-*`. Once a request went to a
//!   foreign origin, later requests carry no credentials (as `tower-http`'s `FilterCredentials`);
//!   what a credential is, is [`credentials`]' one list (names and patterns, headers and query),
//!   and origin-bound headers (`Metadata`, `Metadata-Flavor`, …) go to the submission's origin only.
//!   The other headers keep their values in order; the order between different header names
//!   may change, which HTTP gives no meaning (RFC 9110 §5.3).
//! - An HTTP-date `Retry-After` is measured against the response's own `Date` header.
//! - Absolute URLs from the server (or the caller) are requested exactly as written (Azure Maps
//!   Creator's `…/operations/{operationId}` keeps its braces); relative references are resolved per
//!   RFC 3986 and serialised by the URL parser.
//! - Requests with an origin-form URI (`/jobs`) resolve relative monitor URLs against it and
//!   stay origin-form.
//! - A `303`/`302` from a status monitor ends the operation even under a configured
//!   [`FinalState`]: the server said where the result is, and a redirect is no answer to hand a
//!   caller. Redirects count as polls; a moved monitor (`301`/`307`/`308`) is polled at once unless
//!   the redirect carries a wait hint, or it moved just before too (a loop is paced, then ends
//!   at the poll limit). Carried query parameters (`api-version`) are added to a
//!   redirect target that lacks them, as to any other URL; the target's own query (a SAS token)
//!   is kept as written.
//! - The SSRF guard ([poll requests](#poll-requests)) also refuses non-unicast and unparsable hosts, Azure's WireServer
//!   `168.63.129.16`, and treats the shared address space `100.64.0.0/10` as private; an internal
//!   submission of any class allows internal targets of any class; an origin-form submission
//!   (host unknown) counts as not internal. It reads URLs, not DNS; [`connect`] applies the same
//!   classes to resolved addresses where the connection is made.
//! - Status words: `Terminated` (Durable Functions) and words outside the [default vocabulary](#status-bodies) are
//!   unrecognised by default, hence running until the deadline — a declared dialect or
//!   [`LroLayer::status_word`] gives them a meaning. A `202` on a `Location` poll is terminal
//!   only when its body has a terminal word.
//! - `AsyncResult` (OData 4.01) is read on the final answer of a `Location`/`Content-Location`
//!   poll; the response is delivered with that status.
//! - Google dialect: a body is an `Operation` when it says `done`, carries `response`/`error`, a
//!   `@type`d `metadata`, or a name with an `operations/` segment — proto3 JSON omits
//!   `"done": false`, and resources have `name`s too. An operation already done in the
//!   submission's answer is delivered at once (its `response` as the body). `error.code` 1
//!   (`CANCELLED`) is a cancellation.
//! - Compute Engine: only `operationType: delete` makes the terminal operation the final
//!   response. Its `selfLink`s name `www.googleapis.com` for requests sent to
//!   `compute.googleapis.com`: two https hosts under `googleapis.com` count as one service for
//!   credentials (the operation cannot be polled without the caller's token); any other host is
//!   another origin as usual.
//! - Declared dialects: `start_on` defaults to `[202]`; a root-relative URL is appended to
//!   `base_url`'s path (so `/teams(…)` under `…/v1.0` keeps `/v1.0`); the first source that finds
//!   a URL wins; an `error` that reports one makes a missing word a failure, and a success word
//!   stays a success unless `error_marks_failure` is `true` (`false`: the error never decides);
//!   a word read from a header, or none at all, works with `status_codes` (`"4xx": "failed"`:
//!   such an answer fails with its `error`, a class leaving 408, 429, 502, 503 and 504
//!   transient); pointers choose array elements by a member's value (`/links[rel=results]/href`,
//!   the first match) and are parsed once, when the description is read. `"status_url": "self"`
//!   polls the request's own URL; `status_request`/`result_request` ask with `HEAD` (status in
//!   the headers; on success the status URL is fetched with `GET`, as the resource itself) or,
//!   written out, a `POST` with headers and a JSON body template, filled once per operation. The
//!   service needs no more than `ReqB: Default + 'static`: a body is made by the function given
//!   to [`LroLayer::poll_body`] (found by the body type; none: an error of kind `Protocol`).
//!   Templates read the body (`{/ptr}`), a header (`{header:NAME}`), `{status_url}` (whole, or
//!   in two parts: `{status_url_path}`, `{status_url_query}`) and `{submission_url}`; with `base_url` every relative form, `//host/x` included, stays on the
//!   base's origin. A `cancel` member (`{"method": "DELETE"|"POST"|"PATCH"|"PUT", "url": {"template": …}}`, `url` left out for the status URL)
//!   says how to cancel; a template's placeholders read `/status_url` and `/operation_id` (the
//!   id `operation_id` says where to find: Flower's `POST /api/task/revoke/{/operation_id}`).
//!   It may add `headers` and, with `POST`, `PATCH` or `PUT`, a JSON `body` template, checked
//!   and sent as a `status_request`'s (AWS Step Functions' `StopExecution`: `X-Amz-Target` and
//!   `{"executionArn": "{/operation_id}"}`). `PATCH` and `PUT` are for services that stop an
//!   operation by writing its state: Apache Airflow's REST API stops a DAG run with
//!   `PATCH /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}` and `{"state": "failed"}` (Modify a
//!   DAG Run, <https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html>),
//!   the status URL itself, so its `cancel` is `{"method": "PATCH", "body": {"state":
//!   "failed"}}`; the run then reads `failed`, Airflow having no word of its own for a stopped
//!   run. `GET` and `HEAD` are refused: a cancel changes the operation. The body is made by [`LroLayer::poll_body`] as a
//!   check's is (none for the body type: [`LroService::cancel`] fails with kind `Protocol`, and
//!   the cancel on giving up is not sent, the error left as it was). Credentials and origins
//!   are judged as for any cancel: the description's headers are never credentials.
//!   A `2xx` to a cancel may still say the server did nothing: Ray's
//!   `POST /api/jobs/{id}/stop` answers `200 {"stopped": false}` for a job already finished
//!   (the Ray Jobs REST API). `answer` says where the answer says so and in which words: a
//!   place as `status_word`'s (a boolean or a number at a pointer reads as its text), and
//!   `accepted` and/or `refused` words compared as status words are (case, `-` and `_`
//!   aside). A word in `refused`, or, with `accepted` given, any other word found there,
//!   refuses the cancel (reason `CancelAnswerRefused`,
//!   kind `UnexpectedStatus`, as a refusing status), and so does an answer giving that member
//!   twice; no word there (not JSON, nothing at the place, a body over the status body limit)
//!   leaves the status to decide. Ray's is `{"word": "/stopped", "accepted": ["true"]}`;
//!   OpenAI's batch cancel answers the batch, `{"word": "/status", "accepted": ["cancelling",
//!   "cancelled"]}`. Services whose answer says nothing either way (GA4GH WES's `{run_id}`,
//!   TES's `{}`, Databricks' `{}`) have none. [`LroService::cancel`] reads it; the cancel sent on
//!   giving up is judged by its status alone.
//! - Declared results, what the language says and what it leaves out:
//!   - JSON written into a string (AWS Step Functions' `DescribeExecution.output`) is
//!     delivered as the document it holds when the description says `embedded_json`, the
//!     status answer's `Content-Length` dropped (as for any part of a body); `embedded` hands on
//!     the string as the server wrote it, quotes and escapes included. The delivered body keeps
//!     the status answer's `Content-Type`.
//!   - An operation that ended badly but left part of its work (OpenAI's `expired` and
//!     `cancelled` batches keep the output of the requests that were done) is delivered when
//!     its word is in `partial_result` and a `result` source finds something: the caller gets
//!     a response, not an error, and tells it from a success by
//!     [`LroMetadata::status`] (its word, `expired`, and its meaning, failed). A word not listed
//!     fails as before, and so does a listed word when no source finds a result: a partial
//!     result is only ever what the service says is there. An operation store records such a
//!     delivery with its result (fetched again as any other) and how it ended: the record's
//!     `partial_word` and its status, `Failed` or `Canceled`
//!     ([`OperationRecord::partial`](crate::store::OperationRecord::partial)); the metrics count
//!     it as `failed` or `canceled`.
//!   - A `cancel` template cannot read the submission's answer (Replicate's `urls.cancel`,
//!     Durable Functions' `terminatePostUri`), and this stays so: a cancel is also sent from a
//!     resume handle, in another process and long after, and a handle carries the status URL
//!     and the operation id, not the answers. Reading a cancel URL from an answer would mean
//!     keeping a second server-given URL in every handle and record, and judging it (origin,
//!     credentials, the address guard) apart from the monitor. Every service described here
//!     documents its cancel URL as made of the id or the status URL (Replicate: `POST
//!     /v1/predictions/{prediction_id}/cancel`, the URL `urls.cancel` names), which a template
//!     says. Durable Functions is the one that needed more: its terminate URL is the status
//!     URL's path with `/terminate` after it and the status URL's query kept (`taskHub`,
//!     `connection` and the `code` key every one of its HTTP APIs takes; the path's prefix
//!     differs between Functions 1.x and later), so a template reads the status URL in two
//!     parts, `{status_url_path}/terminate?reason=canceled&{status_url_query}`
//!     (<https://learn.microsoft.com/en-us/azure/azure-functions/durable/durable-functions-http-api>).
//!     `code` is a credential's name: a resume handle leaves it out of the status URL, so an
//!     operation resumed from a handle is polled and cancelled without it, as before (the
//!     caller adds the key as `x-functions-key` or runs anonymous). A service whose cancel URL
//!     can only be learned from an answer cannot be cancelled through a declared dialect.
//!   - Apache Airflow has no word for a stopped run: Modify a DAG Run takes `state` `queued`,
//!     `success` or `failed` (and a `note`), and a run reads `queued`, `running`, `success` or
//!     `failed`, with no field saying who ended it (`triggered_by` and `triggering_user_name`
//!     say who started it): replayed from Airflow 3.3.2, a run whose task raised and a run
//!     marked failed through the API answer the same members, `note` `null` in both. A
//!     cancelled run therefore ends `failed` (exit 3), as Airflow's own "mark failed" leaves
//!     it; reading the `note` as a word would make any run a user annotated unrecognised,
//!     so running until the deadline.
//! - FHIR and OGC API – Processes ([`Dialect::fhir`], [`Dialect::ogc_processes`]): described in
//!   the declared language and read by its readers. A FHIR operation (`…/$export`) or an OGC
//!   `POST …/execution` without a `Prefer` header is sent with `Prefer: respond-async` (both
//!   standards answer synchronously otherwise; their descriptions say so in `prefer_async`, so
//!   a copy of one behaves as the built-in); a caller's own `Prefer` is sent as it is. A FHIR
//!   `OperationOutcome` on an error answer ends the operation as failed, unless all its issues
//!   are transient (retried). `X-Progress` is free text: [`Progress::progress_text`].
//! - The default dialect reads an error answer of a `Content-Location` monitor as a FHIR
//!   failure only when it is unambiguous: `Content-Type: application/fhir+json` and a body
//!   whose `resourceType` is `OperationOutcome`; otherwise the answer is judged as before
//!   (transient statuses retried, others unexpected).
//! - Cancelling (never by default): the default dialect `DELETE`s the status monitor (not a
//!   `provisioningState` resource), Google `POST`s `{name}:cancel`, Compute Engine cannot, a
//!   declared dialect does what its `cancel` says. [`LroService::cancel`] sends it from a resume
//!   handle; [`LroOptions::cancel_on_give_up`] sends it when the layer gives up (deadline, poll
//!   limit), noted in [`Error::cancellation`]. A dropped future sends nothing.
//! - An inner client that follows redirects (reqwest; `FollowRedirect` with the `tower-http`
//!   feature) hides the redirect's status. An answer from another URL moved the monitor only when
//!   it is a status answer naming the operation already seen (or, before any id was seen, an
//!   id-less status document with a word the vocabulary knows); anything else — a result with a
//!   `status` of its own, such as a VM's `"Running"` — is the result of a `303`/`302`.
//! - A resumed operation keeps the final-state choice its handle records, unless the resuming
//!   request's options choose one.
//! - A monitor header on a poll answer: a `Location` monitor moves to the `Location` of an
//!   answer still running (a `202`, or a `200`/`201` whose body's word is in progress), as
//!   azure-core's `LocationPolling` and azcore's `loc` poller read every answer's `Location`;
//!   the move is checked and carries credentials as a redirect's. An
//!   `Operation-Location`/`Azure-AsyncOperation` monitor keeps the URL its submission named,
//!   whatever headers its answers carry (azure-core's `OperationResourcePolling`, azcore's `op`
//!   and `async` pollers): a status document's own headers are no instruction to move.
//! - An answer that ends the operation with an error without saying where it stands (a rejected
//!   poll such as a `404` for a job the service forgot, a body that is no status document, a
//!   refused URL, spent retries) gets no progress report: the error says what happened (a
//!   resumed operation's first report would show the "running" it assumes, which no answer
//!   gave).

#[allow(unused_imports)] // for the links above
use crate::{
    connect, credentials, Dialect, Error, ErrorKind, FinalState, LroLayer, LroMetadata, LroOptions,
    LroService, Progress, ResumeHandle,
};
