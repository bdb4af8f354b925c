//! `lro`: a curl that waits for HTTP long-running operations, and `lro proxy`, a synchronous
//! front for asynchronous APIs. All protocol logic is `tower_lro::LroLayer`'s; this crate
//! configures it and drives `LroService` over a hyper-util client.

mod args;
mod cancel;
mod dialect;
mod exit;
mod facade;
mod fetch;
mod follow;
mod handle;
mod net;
mod output;
mod percent;
mod proxy;
mod proxy_admin;
mod proxy_conn;
mod proxy_limits;
mod proxy_log;
mod proxy_map;
mod proxy_store;
mod redact;
mod report;
mod resolve;
mod scope;
mod setup;
mod sign;
mod term;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and succeed; every other parse error is a usage error.
            let code = if e.use_stderr() { exit::USAGE } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lro: cannot start the runtime: {e}");
            std::process::exit(exit::LOCAL);
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Some(Command::Proxy(args)) => proxy::run(args).await,
            None => fetch::run(cli.fetch).await,
        }
    });
    // Do not wait for blocking reads (stdin) that may still be parked.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    let code = match outcome {
        Ok(code) => code,
        Err(failure) => {
            // A message may quote a URL (a refused --upstream, a bad URL): masked like -v.
            // It may quote what a server sent: escaped and bounded.
            let message = redact::text(&failure.message);
            eprintln!("lro: {}", term::shown_within(&message, term::LINE_LIMIT));
            failure.code
        }
    };
    std::process::exit(code);
}
