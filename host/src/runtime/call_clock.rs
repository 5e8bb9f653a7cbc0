//! The clock a module's deadline runs on: the CPU time the module's own code has used.
//!
//! A call's deadline is charged only for the module's running time. Wall-clock time is the
//! wrong measure on a busy node: a thread descheduled by the kernel, or a container throttled
//! by its CPU quota (CFS periods are 100 ms), would see a well-behaved module stopped for
//! time it never ran. So the clock adds up the calling thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) over the stretches where the module runs: it is suspended
//! while the host answers an import (that time is the host's, bounded by its own timeouts)
//! and while the call waits at a yield (the thread may then run other tasks), and resumed
//! when the module runs again. A stretch that ends on another thread than it began on, or on
//! a system without a thread CPU clock, is charged its wall-clock time instead, which can
//! only stop a module sooner, never let it run longer.
//!
//! Wall-clock time stays as a far outer bound ([`WALL_BOUND_FACTOR`] times the deadline, of
//! the module's running stretches only): should the CPU clock ever stop advancing for a
//! running module, the call still ends. [`CallClock::left`] decides both, and remembers which
//! one stopped the module so the host can say so.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;

/// How many times the CPU deadline a module's running stretches may last in wall-clock time
/// before the call is stopped anyway: with the default 100 ms deadline, 5 s. A module starved
/// to a fiftieth of a core is slower than any node should be; a clock that stopped is a bug.
pub const WALL_BOUND_FACTOR: u32 = 50;

/// Which limit stopped a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    /// Its own CPU time passed the deadline.
    Deadline,
    /// Its running stretches passed the wall-clock outer bound.
    WallBound,
}

/// The running time of one call: shared by the store and the futures its yields return.
#[derive(Debug, Clone)]
pub struct CallClock {
    meter: Arc<Mutex<Meter>>,
}

#[derive(Debug)]
struct Meter {
    /// What the stretches closed so far used.
    spent: Duration,
    /// The wall-clock time the stretches closed so far lasted.
    spent_wall: Duration,
    /// The stretch the module is running in, if it is running.
    running: Option<Stretch>,
    /// The limit that stopped the module, once one has.
    overrun: Option<Overrun>,
}

/// Where and when a stretch of module running time began.
#[derive(Debug, Clone, Copy)]
struct Stretch {
    thread: ThreadId,
    cpu: Option<Duration>,
    wall: Instant,
}

impl Stretch {
    fn begin() -> Self {
        Stretch {
            thread: std::thread::current().id(),
            cpu: thread_cpu(),
            wall: Instant::now(),
        }
    }

    /// The time used since the stretch began, measured on the current thread.
    fn used(&self) -> Duration {
        let same_thread = std::thread::current().id() == self.thread;
        match (same_thread, self.cpu, thread_cpu()) {
            (true, Some(then), Some(now)) => now.saturating_sub(then),
            _ => self.wall.elapsed(),
        }
    }
}

/// The CPU time the current thread has used, where the system can tell.
fn thread_cpu() -> Option<Duration> {
    ThreadTime::try_now().ok().map(|t| t.as_duration())
}

impl CallClock {
    /// A clock whose module starts running now.
    pub fn start() -> Self {
        CallClock {
            meter: Arc::new(Mutex::new(Meter {
                spent: Duration::ZERO,
                spent_wall: Duration::ZERO,
                running: Some(Stretch::begin()),
                overrun: None,
            })),
        }
    }

    fn meter(&self) -> MutexGuard<'_, Meter> {
        // A panic elsewhere while holding the lock leaves durations that are still valid.
        self.meter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The module's own running time so far.
    pub fn module_time(&self) -> Duration {
        let meter = self.meter();
        meter.spent + meter.running.map(|s| s.used()).unwrap_or_default()
    }

    /// The wall-clock time the module's running stretches have lasted so far (time in
    /// imports and at yields excluded, as for [`CallClock::module_time`]).
    pub fn running_wall_time(&self) -> Duration {
        let meter = self.meter();
        meter.spent_wall + meter.running.map(|s| s.wall.elapsed()).unwrap_or_default()
    }

    /// How much running time the module has left before `deadline` (its CPU time) or
    /// `wall_bound` (its running stretches' wall-clock time), whichever comes first; or the
    /// limit it has passed, which the clock then remembers ([`CallClock::overrun`]).
    pub fn left(&self, deadline: Duration, wall_bound: Duration) -> Result<Duration, Overrun> {
        let cpu_left = deadline.checked_sub(self.module_time());
        let wall_left = wall_bound.checked_sub(self.running_wall_time());
        let verdict = match (cpu_left, wall_left) {
            (_, None) => Err(Overrun::WallBound),
            (_, Some(w)) if w.is_zero() => Err(Overrun::WallBound),
            (None, _) => Err(Overrun::Deadline),
            (Some(c), _) if c.is_zero() => Err(Overrun::Deadline),
            (Some(c), Some(w)) => Ok(c.min(w)),
        };
        if let Err(limit) = verdict {
            self.meter().overrun.get_or_insert(limit);
        }
        verdict
    }

    /// The limit that stopped the module, if [`CallClock::left`] found one passed.
    pub fn overrun(&self) -> Option<Overrun> {
        self.meter().overrun
    }

    /// The module stops running (the host takes over, or the call yields): the running
    /// stretch is charged. Suspending a suspended clock changes nothing.
    pub fn suspend(&self) {
        let mut meter = self.meter();
        if let Some(stretch) = meter.running.take() {
            meter.spent += stretch.used();
            meter.spent_wall += stretch.wall.elapsed();
        }
    }

    /// The module runs again, on the current thread. Resuming a running clock changes
    /// nothing.
    pub fn resume(&self) {
        let mut meter = self.meter();
        if meter.running.is_none() {
            meter.running = Some(Stretch::begin());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(d: Duration) {
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < d {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }

    #[test]
    fn a_descheduled_module_is_not_charged_the_time_it_did_not_run() {
        // Sleeping stands for the kernel running something else, or a CPU quota throttling
        // the container: wall-clock time passes, the module's thread runs nothing.
        let clock = CallClock::start();
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            clock.module_time() < Duration::from_millis(150),
            "charged {:?} for 300 ms asleep",
            clock.module_time()
        );
    }

    #[test]
    fn running_time_is_charged_and_suspended_time_is_not() {
        let clock = CallClock::start();
        spin(Duration::from_millis(30));
        clock.suspend();
        let charged = clock.module_time();
        assert!(charged >= Duration::from_millis(1), "charged {charged:?}");
        spin(Duration::from_millis(30));
        assert_eq!(
            clock.module_time(),
            charged,
            "host time charged to the module"
        );
        clock.resume();
        spin(Duration::from_millis(30));
        assert!(clock.module_time() > charged);
    }

    #[test]
    fn the_first_limit_passed_stops_the_module_and_is_remembered() {
        let clock = CallClock::start();
        spin(Duration::from_millis(20));
        let left = clock.left(Duration::from_secs(10), Duration::from_secs(10));
        assert!(left.is_ok_and(|l| l < Duration::from_secs(10)), "{left:?}");
        assert_eq!(clock.overrun(), None);
        assert_eq!(
            clock.left(Duration::from_millis(1), Duration::from_secs(10)),
            Err(Overrun::Deadline)
        );
        assert_eq!(clock.overrun(), Some(Overrun::Deadline));
    }

    #[test]
    fn wall_time_of_running_stretches_bounds_a_module_whose_cpu_clock_shows_little() {
        // Asleep while "running": the CPU clock barely moves, wall-clock time does.
        let clock = CallClock::start();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            clock.left(Duration::from_secs(10), Duration::from_millis(50)),
            Err(Overrun::WallBound)
        );
        assert_eq!(clock.overrun(), Some(Overrun::WallBound));
    }

    #[test]
    fn time_outside_running_stretches_counts_for_neither_limit() {
        let clock = CallClock::start();
        clock.suspend();
        std::thread::sleep(Duration::from_millis(60));
        assert!(clock.running_wall_time() < Duration::from_millis(50));
        assert!(
            clock
                .left(Duration::from_millis(50), Duration::from_millis(50))
                .is_ok()
        );
    }

    #[test]
    fn a_stretch_ended_on_another_thread_is_charged_its_wall_time() {
        let clock = CallClock::start();
        std::thread::sleep(Duration::from_millis(40));
        let moved = clock.clone();
        let charged = std::thread::spawn(move || {
            moved.suspend();
            moved.module_time()
        })
        .join()
        .unwrap_or_default();
        assert!(charged >= Duration::from_millis(40), "charged {charged:?}");
    }
}
