//! Reusable isolate threads: a finished isolate's thread waits a while for the next one,
//! and one spare is kept ready, so starting an isolate rarely pays for a new thread.
//!
//! A new thread costs more than `clone`: glibc gives it a fresh malloc arena whose pages
//! all fault in while V8 sets the isolate up. A reused thread has them mapped already.
//!
//! A waiting thread also builds a blank isolate (`super::Blank`) while it waits, when the
//! pool has asked for them (`prepare_blanks`): the next start then skips building V8 from
//! the snapshot, most of a cold start. At most as many as the pool asks for exist at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::{Blank, IsolateLimits};

/// Work to run on an isolate thread; it owns the isolate from creation to teardown, and
/// gets the blank isolate the thread prepared, if any.
pub type Task = Box<dyn FnOnce(Option<Prepared>) + Send + 'static>;

/// Most blank isolates kept ready at once (each holds about 2 MB).
static MAX_BLANKS: AtomicUsize = AtomicUsize::new(0);

static BLANK_LIMITS: Mutex<Option<IsolateLimits>> = Mutex::new(None);
/// Blank isolates in existence (being built, waiting, or handed over but not yet taken).
static BLANKS_ALIVE: AtomicUsize = AtomicUsize::new(0);
/// Idle threads waiting with a blank isolate.
static BLANKS_WAITING: AtomicUsize = AtomicUsize::new(0);
static BLANKS_TAKEN: AtomicUsize = AtomicUsize::new(0);

/// Has idle threads keep up to `count` blank isolates built under `limits` (`None`: none).
/// The setting is process-wide; the last pool to start sets it.
pub fn prepare_blanks(limits: Option<IsolateLimits>, count: usize) {
    *BLANK_LIMITS.lock().unwrap_or_else(|e| e.into_inner()) = limits;
    MAX_BLANKS.store(count, Ordering::SeqCst);
    ensure_blank();
}

/// Has an idle thread without a blank build one, when blanks are wanted and fewer than
/// `MAX_BLANKS` are alive: it gets a task that does nothing, after which it prepares.
fn ensure_blank() {
    if !blanks_wanted() || BLANKS_ALIVE.load(Ordering::SeqCst) >= MAX_BLANKS.load(Ordering::SeqCst) {
        return;
    }
    let next = {
        let mut idle = lock();
        let at = idle.threads.iter().rposition(|(_, _, blank)| !*blank);
        at.map(|at| take_idle(&mut idle, at))
    };
    if let Some((_, waiting, _)) = next {
        // A thread that has just exited drops the task; the next start's spare covers it.
        let _ = waiting.send(Box::new(|_| {}));
    }
}

/// Idle threads waiting with a blank isolate now, and blanks taken by starts so far.
pub fn blank_counts() -> (usize, usize) {
    (BLANKS_WAITING.load(Ordering::SeqCst), BLANKS_TAKEN.load(Ordering::SeqCst))
}

/// Takes the idle entry at `at` off the list, keeping the count of waiting blanks.
fn take_idle(idle: &mut Idle, at: usize) -> (u64, Sender<Task>, bool) {
    let entry = idle.threads.remove(at);
    if entry.2 {
        BLANKS_WAITING.fetch_sub(1, Ordering::SeqCst);
    }
    entry
}

/// A blank isolate with the `current_thread` runtime it was built in (an isolate must stay
/// with the runtime its V8 tasks were handed to).
pub struct Prepared {
    runtime: Option<tokio::runtime::Runtime>,
    blank: Option<Blank>,
}

impl Prepared {
    /// The runtime and blank when the blank fits `limits`; otherwise both are dropped.
    pub fn take_if_fits(mut self, limits: &IsolateLimits) -> Option<(tokio::runtime::Runtime, Blank)> {
        if !self.blank.as_ref().is_some_and(|b| b.fits(limits)) {
            return None;
        }
        BLANKS_TAKEN.fetch_add(1, Ordering::SeqCst);
        Some((self.runtime.take()?, self.blank.take()?))
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        BLANKS_ALIVE.fetch_sub(1, Ordering::SeqCst);
        if let (Some(runtime), Some(blank)) = (&self.runtime, self.blank.take()) {
            // V8's teardown may hand tasks to the runtime: drop the isolate inside it.
            let _inside = runtime.enter();
            drop(blank);
        }
    }
}

/// Builds a blank isolate on this thread when blanks are wanted and fewer than the most
/// wanted exist.
fn prepare() -> Option<Prepared> {
    let limits = (*BLANK_LIMITS.lock().unwrap_or_else(|e| e.into_inner()))?;
    if BLANKS_ALIVE.fetch_add(1, Ordering::SeqCst) >= MAX_BLANKS.load(Ordering::SeqCst) {
        BLANKS_ALIVE.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    // From here on, `Prepared`'s drop gives the count back.
    let mut prepared = Prepared { runtime: None, blank: None };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let blank = {
        let _inside = runtime.enter();
        Blank::new(limits)
    };
    // The SDK module too, while the thread is idle: a request need not wait for it.
    let blank = blank.and_then(|mut blank| runtime.block_on(blank.load_sdk()).map(|()| blank));
    prepared.runtime = Some(runtime);
    match blank {
        Ok(blank) => prepared.blank = Some(blank),
        Err(e) => {
            tracing::warn!(error = %e, "cannot prepare a blank isolate");
            return None;
        }
    }
    Some(prepared)
}

/// Gives a thread the watchdog demoted (its isolate spent past the soft CPU limit) its
/// normal priority back; false when that is not allowed (no `CAP_SYS_NICE`), and the thread
/// should end rather than serve the next isolate at the lowest priority.
fn restore_priority() -> bool {
    // SAFETY: getpriority/setpriority on the calling thread (id 0) have no preconditions;
    // errno is reset first because -1 is also a valid priority.
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
        if nice <= 0 {
            return true;
        }
        libc::setpriority(libc::PRIO_PROCESS, 0, 0) == 0
    }
}

/// Stack for isolate threads: V8 sizes its JS stack limit below what the thread has.
const STACK_BYTES: usize = 8 * 1024 * 1024;
/// Most finished threads kept waiting for another isolate.
const MAX_IDLE: usize = 8;
/// How long a finished thread waits before it exits.
/// Threads that hold a blank isolate stay while blanks are wanted: the first request after
/// a quiet hour deserves a fast cold start too.
#[cfg(not(test))]
const IDLE_FOR: Duration = Duration::from_secs(60);
#[cfg(test)]
const IDLE_FOR: Duration = Duration::from_millis(300);

struct Idle {
    next_id: u64,
    /// Waiting threads: id, how to reach it, and whether it holds a blank isolate.
    threads: Vec<(u64, Sender<Task>, bool)>,
}

fn idle() -> &'static Mutex<Idle> {
    static IDLE: OnceLock<Mutex<Idle>> = OnceLock::new();
    IDLE.get_or_init(|| Mutex::new(Idle { next_id: 0, threads: Vec::new() }))
}

fn lock() -> std::sync::MutexGuard<'static, Idle> {
    // The lists stay consistent whatever a panicking holder was doing: recover them.
    idle().lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `task` on an idle isolate thread, or on a new one when none waits; then makes sure
/// a spare is ready for the next start.
pub fn run(task: Task) -> std::io::Result<()> {
    let mut task = task;
    loop {
        let next = {
            let mut idle = lock();
            // A thread with a blank isolate first.
            let at = idle.threads.iter().rposition(|(_, _, blank)| *blank).or_else(|| idle.threads.len().checked_sub(1));
            at.map(|at| take_idle(&mut idle, at))
        };
        let Some((_, waiting, _)) = next else { break };
        match waiting.send(task) {
            Ok(()) => {
                ensure_spare();
                ensure_blank();
                return Ok(());
            }
            // That thread has just exited: try the next.
            Err(returned) => task = returned.0,
        }
    }
    spawn(Some(task))?;
    ensure_spare();
    ensure_blank();
    Ok(())
}

/// Starts a spare thread in the background when none is idle.
fn ensure_spare() {
    if lock().threads.is_empty() {
        if let Err(e) = spawn(None) {
            tracing::debug!(error = %e, "cannot start a spare isolate thread");
        }
    }
}

fn spawn(first: Option<Task>) -> std::io::Result<()> {
    std::thread::Builder::new().name("alga-isolate".into()).stack_size(STACK_BYTES).spawn(move || {
        if let Some(task) = first {
            task(None);
        }
        loop {
            let prepared = prepare();
            match wait_for_task(prepared.is_some()) {
                Some(task) => {
                    task(prepared);
                    if !restore_priority() {
                        break;
                    }
                }
                None => break,
            }
        }
    })?;
    Ok(())
}

/// Parks the calling thread on the idle list until a task comes or it has waited too long.
fn wait_for_task(has_blank: bool) -> Option<Task> {
    let (sender, tasks) = channel();
    let id = {
        let mut idle = lock();
        if idle.threads.len() >= MAX_IDLE {
            return None;
        }
        idle.next_id += 1;
        let id = idle.next_id;
        idle.threads.push((id, sender, has_blank));
        if has_blank {
            BLANKS_WAITING.fetch_add(1, Ordering::SeqCst);
        }
        id
    };
    loop {
        match tasks.recv_timeout(IDLE_FOR) {
            Ok(task) => return Some(task),
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) if has_blank && blanks_wanted() => continue,
            Err(RecvTimeoutError::Timeout) => break,
        }
    }
    let mut idle = lock();
    if let Some(at) = idle.threads.iter().position(|(i, _, _)| *i == id) {
        take_idle(&mut idle, at);
        return None;
    }
    drop(idle);
    // Someone took this thread off the list as the wait ran out: its task is coming.
    tasks.recv().ok()
}

/// Whether blank isolates are wanted at all now.
fn blanks_wanted() -> bool {
    MAX_BLANKS.load(Ordering::SeqCst) > 0 && BLANK_LIMITS.lock().unwrap_or_else(|e| e.into_inner()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_thread_runs_the_next_task() {
        let (done, finished) = channel();
        let first = done.clone();
        run(Box::new(move |_| first.send(std::thread::current().id()).unwrap())).unwrap();
        let a = finished.recv().unwrap();
        // Give the thread time to park itself on the idle list.
        std::thread::sleep(Duration::from_millis(50));
        let mut seen = vec![a];
        for _ in 0..4 {
            let done = done.clone();
            run(Box::new(move |_| done.send(std::thread::current().id()).unwrap())).unwrap();
            seen.push(finished.recv().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
        seen.sort_by_key(|id| format!("{id:?}"));
        seen.dedup();
        // Five tasks, one at a time: without reuse each would have had a thread of its own
        // (other tests may borrow the spares meanwhile, so exact counts would be flaky).
        assert!(seen.len() < 5, "threads were not reused: {seen:?}");
    }

    #[test]
    fn idle_threads_hold_blank_isolates_that_a_start_can_take() {
        let limits = IsolateLimits::default();
        prepare_blanks(Some(limits), 2);
        let (done, answers) = channel();
        let mut answer = None;
        // Other tests share these threads and may take a blank first: try a few times.
        for _ in 0..10 {
            let ready_by = std::time::Instant::now() + Duration::from_secs(2);
            while blank_counts().0 == 0 && std::time::Instant::now() < ready_by {
                std::thread::sleep(Duration::from_millis(2));
            }
            let done = done.clone();
            run(Box::new(move |prepared| {
                let Some((runtime, blank)) = prepared.and_then(|p| p.take_if_fits(&limits)) else {
                    done.send(None).unwrap();
                    return;
                };
                let identity = alga_ops::ExtensionIdentity { tenant: "acme".into(), extension: "com.acme.blank".into() };
                let value = runtime.block_on(async move {
                    let mut isolate = blank.assign(identity, limits, None, Default::default());
                    isolate.eval_json("<test>", "({ sum: 1 + 2, deno: typeof Deno })".into()).unwrap()
                });
                done.send(Some(value)).unwrap();
            }))
            .unwrap();
            if let Some(value) = answers.recv().unwrap() {
                answer = Some(value);
                break;
            }
        }
        assert_eq!(answer, Some(serde_json::json!({ "sum": 3, "deno": "undefined" })), "no start received a blank isolate");
        // Blanks outlast the idle timeout that ends other idle threads.
        std::thread::sleep(IDLE_FOR * 3);
        let ready_by = std::time::Instant::now() + Duration::from_secs(2);
        while blank_counts().0 == 0 && std::time::Instant::now() < ready_by {
            std::thread::sleep(Duration::from_millis(5));
        }
        let kept = blank_counts().0;
        prepare_blanks(None, 0);
        assert!(kept >= 1, "no blank isolate was kept past the idle timeout");
    }
}
