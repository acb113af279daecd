//! `perfspec-demo` binary: parse options, bind, serve until SIGTERM/SIGINT.

use clap::Parser;
use perfspec_demo::{Options, serve};
use tokio::net::TcpListener;

fn main() {
    let opts = Options::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(opts.threads))
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => fail(&format!("cannot start runtime: {e}")),
    };
    let result = runtime.block_on(async {
        // Bind before anything else so the port is usable (and printed) immediately.
        let listener = TcpListener::bind((opts.host.as_str(), opts.port)).await?;
        eprintln!(
            "perfspec-demo listening on http://{}",
            listener.local_addr()?
        );
        serve(listener, &opts, shutdown_signal()).await
    });
    if let Err(e) = result {
        fail(&format!("cannot serve on {}:{}: {e}", opts.host, opts.port));
    }
    // Exit right away: open keep-alive connections, streams and a still-running corpus
    // build would otherwise hold up the runtime's shutdown.
    std::process::exit(0);
}

fn fail(msg: &str) -> ! {
    eprintln!("perfspec-demo: {msg}");
    std::process::exit(1);
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => {}
                () = ctrl_c() => {}
            },
            Err(_) => ctrl_c().await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c().await;
}

/// Ctrl-C; never completes if the handler cannot be installed (rather than shutting
/// down at once).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
