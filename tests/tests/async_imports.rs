//! The imports are async on tokio: a reconcile whose cluster reads are slow is suspended while
//! it waits, so the one thread of a current-thread runtime keeps running other tasks; and a
//! module that computes without end yields to the executor while it runs toward its deadline,
//! so it cannot stall the thread either.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use albatross::backend::Backend;
use albatross::backend::offline::OfflineHost;
use albatross::runtime::call::reconcile;
use albatross::runtime::engine::{StrategyModule, new_engine};
use albatross_policy::reconcile::Settings;
use albatross_sim::SharedWorld;
use albatross_tests::delayed::slow_backend;
use albatross_tests::{Way, built_component, default_module, partial, scenario};

fn one_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Bumps `ticks` every millisecond until `done`: the other work on the thread.
async fn ticker(ticks: Arc<AtomicU64>, done: Arc<AtomicBool>) {
    while !done.load(Ordering::SeqCst) {
        ticks.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// basic-canary at t=150 and its Rollout's JSON.
fn world_at_150() -> (SharedWorld, String) {
    let world = SharedWorld::new(partial(&scenario("basic-canary"), Way::Native, 150));
    let rollout = world
        .lock()
        .store
        .get("Rollout", "shop", "guestbook")
        .unwrap_or_default()
        .to_string();
    (world, rollout)
}

#[test]
fn a_call_waiting_on_slow_reads_leaves_the_thread_to_other_tasks() {
    let (world, rollout) = world_at_150();
    let ticks = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (slow, waits) = slow_backend(world, Duration::from_millis(20), ticks.clone());
    let call = async {
        let out = reconcile(default_module(), slow, &rollout, &Settings::default()).await;
        done.store(true, Ordering::SeqCst);
        out
    };
    let (out, ()) =
        one_thread().block_on(async { tokio::join!(call, ticker(ticks.clone(), done.clone())) });
    assert!(out.is_ok(), "{out:?}");
    let waits = waits.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        waits.len() >= 3,
        "the reconcile made only {} cluster reads",
        waits.len()
    );
    // Each read waited 20 ms on a sleep; the ticker, on the same and only thread, ran during
    // the waits. (A blocking import would leave every `after` equal to its `before`.)
    let progressed = waits
        .iter()
        .filter(|(before, after)| after > before)
        .count();
    assert!(
        progressed * 2 >= waits.len(),
        "the thread was not free while the module waited: {waits:?}"
    );
}

#[test]
fn a_module_computing_without_end_yields_until_its_deadline_stops_it() {
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let path = built_component("hostile-spin.wasm");
    let spin = StrategyModule::from_file(&engine, &path)
        .unwrap_or_else(|e| panic!("{e:#} (run `cargo xtask guest`)"));
    let ticks = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let rollout = r#"{"metadata":{"name":"app","namespace":"shop"}}"#;
    let call = async {
        let before = ticks.load(Ordering::SeqCst);
        let out = reconcile(
            &spin,
            Backend::inline(OfflineHost),
            rollout,
            &Settings::default(),
        )
        .await;
        let after = ticks.load(Ordering::SeqCst);
        done.store(true, Ordering::SeqCst);
        (out, after - before)
    };
    let ((out, ticks_during), ()) =
        one_thread().block_on(async { tokio::join!(call, ticker(ticks.clone(), done.clone())) });
    let err = out.expect_err("the spinning module was not stopped");
    assert!(
        err.to_string()
            .contains("ran past its deadline of 100 ms and was stopped"),
        "{err}"
    );
    assert!(
        ticks_during > 0,
        "the spinning module held the thread for its whole deadline"
    );
}
