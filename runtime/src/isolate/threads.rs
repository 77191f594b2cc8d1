//! Reusable isolate threads: a finished isolate's thread waits a while for the next one,
//! and one spare is kept ready, so starting an isolate rarely pays for a new thread.
//!
//! A new thread costs more than `clone`: glibc gives it a fresh malloc arena whose pages
//! all fault in while V8 sets the isolate up. A reused thread has them mapped already.

use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Work to run on an isolate thread; it owns the isolate from creation to teardown.
pub type Task = Box<dyn FnOnce() + Send + 'static>;

/// Stack for isolate threads: V8 sizes its JS stack limit below what the thread has.
const STACK_BYTES: usize = 8 * 1024 * 1024;
/// Most finished threads kept waiting for another isolate.
const MAX_IDLE: usize = 8;
/// How long a finished thread waits before it exits.
const IDLE_FOR: Duration = Duration::from_secs(60);

struct Idle {
    next_id: u64,
    threads: Vec<(u64, Sender<Task>)>,
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
        let Some((_, waiting)) = lock().threads.pop() else { break };
        match waiting.send(task) {
            Ok(()) => {
                ensure_spare();
                return Ok(());
            }
            // That thread has just exited: try the next.
            Err(returned) => task = returned.0,
        }
    }
    spawn(Some(task))?;
    ensure_spare();
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
            task();
        }
        while let Some(task) = wait_for_task() {
            task();
        }
    })?;
    Ok(())
}

/// Parks the calling thread on the idle list until a task comes or it has waited too long.
fn wait_for_task() -> Option<Task> {
    let (sender, tasks) = channel();
    let id = {
        let mut idle = lock();
        if idle.threads.len() >= MAX_IDLE {
            return None;
        }
        idle.next_id += 1;
        let id = idle.next_id;
        idle.threads.push((id, sender));
        id
    };
    match tasks.recv_timeout(IDLE_FOR) {
        Ok(task) => Some(task),
        Err(RecvTimeoutError::Disconnected) => None,
        Err(RecvTimeoutError::Timeout) => {
            let mut idle = lock();
            if let Some(at) = idle.threads.iter().position(|(i, _)| *i == id) {
                idle.threads.swap_remove(at);
                return None;
            }
            drop(idle);
            // Someone took this thread off the list as the wait ran out: its task is coming.
            tasks.recv().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_thread_runs_the_next_task() {
        let (done, finished) = channel();
        let first = done.clone();
        run(Box::new(move || first.send(std::thread::current().id()).unwrap())).unwrap();
        let a = finished.recv().unwrap();
        // Give the thread time to park itself on the idle list.
        std::thread::sleep(Duration::from_millis(50));
        let mut seen = vec![a];
        for _ in 0..4 {
            let done = done.clone();
            run(Box::new(move || done.send(std::thread::current().id()).unwrap())).unwrap();
            seen.push(finished.recv().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
        seen.sort_by_key(|id| format!("{id:?}"));
        seen.dedup();
        // Five tasks, one at a time: without reuse each would have had a thread of its own
        // (other tests may borrow the spares meanwhile, so exact counts would be flaky).
        assert!(seen.len() < 5, "threads were not reused: {seen:?}");
    }
}
