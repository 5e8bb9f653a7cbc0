//! The deadline is charged for the module's own CPU time, on a thread starved of CPU: the
//! calling thread is pinned to one core with seven busy threads beside it, so it runs about an
//! eighth of the time. An honest call that needs well under its deadline of CPU finishes,
//! though its wall-clock time is far past the deadline; a spinning module is still stopped,
//! by the deadline and not by the wall-clock outer bound.
//!
//! Linux only (`sched_setaffinity`, `CLOCK_THREAD_CPUTIME_ID`), as the controller is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use albatross::backend::Backend;
use albatross::backend::offline::OfflineHost;
use albatross::runtime::call::{CallError, call_reconcile};
use albatross::runtime::engine::{Limits, StrategyModule, new_engine};
use albatross_policy::reconcile::Settings;
use albatross_tests::built_component;

/// The busy threads beside the caller on its core.
const HOGS: usize = 7;

/// The CPU time the honest call is calibrated to: well under the 100 ms deadline, yet far
/// past it in wall-clock time once the thread gets an eighth of a core.
const HONEST_CPU: Duration = Duration::from_millis(30);

fn module(behaviour: &str) -> StrategyModule {
    let engine = new_engine().unwrap();
    let path = built_component(&format!("hostile-{behaviour}.wasm"));
    StrategyModule::from_file(&engine, &path)
        .unwrap_or_else(|e| panic!("{e:#} (run `cargo xtask guest`)"))
}

/// The CPU time the calling thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "no thread CPU clock");
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap(),
        u32::try_from(ts.tv_nsec).unwrap(),
    )
}

/// The calling thread's CPU affinity.
fn affinity() -> libc::cpu_set_t {
    // SAFETY: an all-zero cpu_set_t is a valid empty set; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    assert_eq!(rc, 0, "sched_getaffinity failed");
    set
}

fn set_affinity(set: &libc::cpu_set_t) {
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(set), set) };
    assert_eq!(rc, 0, "sched_setaffinity failed");
}

/// A set of one CPU: the first the calling thread may run on.
fn one_cpu() -> libc::cpu_set_t {
    let allowed = affinity();
    let cpu = (0..libc::CPU_SETSIZE as usize)
        .find(|&c| unsafe { libc::CPU_ISSET(c, &allowed) })
        .expect("the thread may run on no CPU");
    // SAFETY: as in `affinity`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// Runs `f` on the calling thread pinned to one core shared with [`HOGS`] spinning threads,
/// then lets the thread run anywhere again.
fn starved<T>(f: impl FnOnce() -> T) -> T {
    let before = affinity();
    let core = one_cpu();
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..HOGS)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                set_affinity(&core);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            })
        })
        .collect();
    set_affinity(&core);
    // Let every hog reach the core before the call starts.
    std::thread::sleep(Duration::from_millis(50));
    let out = f();
    stop.store(true, Ordering::Relaxed);
    set_affinity(&before);
    for h in hogs {
        h.join().unwrap();
    }
    out
}

fn rollout(iterations: u64) -> String {
    format!(r#"{{"metadata":{{"name":"app","namespace":"shop"}},"busyIterations":{iterations}}}"#)
}

/// One call of the busy module, with the CPU and wall-clock time it took on this thread.
fn timed(module: &StrategyModule, iterations: u64) -> (Result<(), CallError>, Duration, Duration) {
    let (cpu, wall) = (thread_cpu(), Instant::now());
    let out = call_reconcile(
        module,
        Backend::inline(OfflineHost),
        &rollout(iterations),
        &Settings::default(),
    )
    .map(|_| ());
    (out, thread_cpu() - cpu, wall.elapsed())
}

/// The iterations that take about [`HONEST_CPU`] of this thread's CPU time, unstarved.
fn calibrate(module: &StrategyModule) -> u64 {
    let mut iterations = 1_000_000u64;
    for _ in 0..8 {
        let (out, cpu, _) = timed(module, iterations);
        assert!(out.is_ok(), "calibrating: {out:?}");
        if cpu >= HONEST_CPU.mul_f64(0.8) {
            return iterations;
        }
        let scale = HONEST_CPU.as_secs_f64() / cpu.as_secs_f64().max(1e-4);
        iterations = (iterations as f64 * scale.clamp(1.5, 50.0)) as u64;
    }
    iterations
}

#[test]
fn an_honest_call_on_a_starved_thread_finishes_though_its_wall_time_passes_the_deadline() {
    let busy = module("busy");
    let deadline = Limits::default().deadline;
    let iterations = calibrate(&busy);
    let (out, cpu, wall) = starved(|| timed(&busy, iterations));
    assert!(
        cpu < deadline.mul_f64(0.8),
        "the call needed {cpu:?} of CPU, too close to the {deadline:?} deadline to show anything"
    );
    assert!(
        wall > deadline,
        "the thread was not starved: {cpu:?} of CPU took only {wall:?} of wall-clock time"
    );
    assert!(
        out.is_ok(),
        "an honest call of {cpu:?} CPU ({wall:?} wall) was stopped: {out:?}"
    );
}

#[test]
fn a_spinning_module_on_a_starved_thread_is_stopped_by_its_cpu_deadline() {
    let spin = module("spin");
    let (out, cpu, wall) = starved(|| timed(&spin, 0));
    match out {
        Err(CallError::Deadline { deadline_ms, .. }) => assert_eq!(deadline_ms, 100),
        other => panic!("expected the deadline to stop it, got {other:?}"),
    }
    assert!(
        cpu >= Limits::default().deadline,
        "stopped after {cpu:?} of CPU ({wall:?} wall), before its deadline"
    );
    assert!(
        wall < Limits::default().wall_bound(),
        "ran {wall:?}, past the wall-clock outer bound"
    );
}
