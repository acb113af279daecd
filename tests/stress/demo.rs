//! The demo service in process on 127.0.0.1:0: its worker pool's capacity and drain rate are
//! known exactly, so the stress tests can say what a run should find.

use std::net::SocketAddr;

/// The demo service in process, with `args` (pool options), until dropped.
pub struct Demo {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Demo {
    pub fn start(args: &[&str]) -> Demo {
        let opts = perfspec_demo::Options::from_words(
            ["--corpus", "10", "--threads", "1"]
                .into_iter()
                .chain(args.iter().copied()),
        )
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = perfspec_demo::serve(listener, &opts, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        Demo {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
