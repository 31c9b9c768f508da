//! A small blocking worker pool: storage requests must not run on an event
//! loop, and none of the three runtimes' own blocking pools is available to
//! the other two, so one pool of std threads serves them all.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// A job for the pool. It delivers its own result, through whatever the
/// runtime supplied (a tokio mpsc sender, a channel and a `mio::Waker`, an
/// async-channel sender).
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// Runs [`Job`]s on at most a fixed number of threads, started as they are
/// needed. Dropping the pool (or [`WorkerPool::shutdown`]) runs the jobs
/// already submitted, then joins the threads.
#[derive(Debug)]
pub struct WorkerPool {
    shared: Arc<Shared>,
    max_workers: usize,
    threads: Vec<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    idle: usize,
    stopping: bool,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("jobs", &self.jobs.len())
            .field("idle", &self.idle)
            .field("stopping", &self.stopping)
            .finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and their panics are caught, so a
        // poisoned lock still holds consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WorkerPool {
    /// A pool of at most `max_workers` threads (at least one).
    pub fn new(max_workers: usize) -> Self {
        Self { shared: Arc::default(), max_workers: max_workers.max(1), threads: Vec::new() }
    }

    /// Threads started so far.
    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Queues `job`; it runs on an idle worker, a new one if the pool is not
    /// full yet, or else once a worker is free. Fails only if a thread could
    /// not be started and none is running (the job is then dropped).
    pub fn submit(&mut self, job: Job) -> std::io::Result<()> {
        let start_one = {
            let mut state = self.shared.lock();
            state.jobs.push_back(job);
            state.jobs.len() > state.idle && self.threads.len() < self.max_workers
        };
        self.shared.work.notify_one();
        if start_one {
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("polyshare-io-{}", self.threads.len()))
                .spawn(move || work(&shared));
            match spawned {
                Ok(t) => self.threads.push(t),
                // The job waits for a running worker, if there is one.
                Err(e) if self.threads.is_empty() => {
                    self.shared.lock().jobs.clear();
                    return Err(e);
                }
                Err(e) => tracing::warn!(error = %e, "cannot start another IO worker"),
            }
        }
        Ok(())
    }

    /// [`WorkerPool::submit`] for work with a result: `work` runs on the
    /// pool, then `deliver` gets its result (on the same worker thread).
    pub fn run<T>(
        &mut self,
        work: impl FnOnce() -> T + Send + 'static,
        deliver: impl FnOnce(T) + Send + 'static,
    ) -> std::io::Result<()> {
        self.submit(Box::new(move || deliver(work())))
    }

    /// Runs a storage request on the pool; `deliver` hands its completion to
    /// the event loop. A pool that cannot start any thread is a server that
    /// cannot do IO: logged as an error (the request's operation stays
    /// unanswered, like one on a hung disk).
    pub fn storage(
        &mut self,
        req: polyshare_core::IoRequest,
        deliver: impl FnOnce(polyshare_core::IoCompletion) + Send + 'static,
    ) {
        if let Err(e) = self.run(move || req.run(), deliver) {
            tracing::error!(error = %e, "cannot start a storage worker");
        }
    }

    /// Runs the jobs already submitted, then stops the workers and waits for
    /// them (what dropping the pool does, made explicit).
    pub fn shutdown(self) {}
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.work.notify_all();
        for t in self.threads.drain(..) {
            // `work` catches the jobs' panics; a join error cannot happen.
            let _ = t.join();
        }
    }
}

fn work(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            if catch_unwind(AssertUnwindSafe(job)).is_err() {
                tracing::error!("an IO job panicked");
            }
            state = shared.lock();
        } else if state.stopping {
            return;
        } else {
            state.idle += 1;
            state = shared.work.wait(state).unwrap_or_else(PoisonError::into_inner);
            state.idle -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn results_come_back_through_the_callback() {
        let mut pool = WorkerPool::new(2);
        let (tx, rx) = mpsc::channel();
        for i in 0..10u64 {
            let tx = tx.clone();
            pool.run(move || i * i, move |r| tx.send(r).unwrap()).unwrap();
        }
        let mut got: Vec<u64> = (0..10).map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..10).map(|i| i * i).collect::<Vec<_>>());
        assert!(pool.workers() <= 2);
    }

    #[test]
    fn never_more_jobs_at_once_than_workers() {
        let mut pool = WorkerPool::new(3);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let (running, most) = (running.clone(), most.clone());
            pool.submit(Box::new(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
            }))
            .unwrap();
        }
        pool.shutdown();
        let most = most.load(Ordering::SeqCst);
        assert!((1..=3).contains(&most), "{most} at once");
    }

    #[test]
    fn shutdown_runs_what_was_queued_and_joins() {
        let mut pool = WorkerPool::new(1);
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            let done = done.clone();
            pool.submit(Box::new(move || {
                std::thread::sleep(Duration::from_millis(2));
                done.fetch_add(1, Ordering::SeqCst);
            }))
            .unwrap();
        }
        drop(pool);
        assert_eq!(done.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn a_panicking_job_does_not_take_its_worker_down() {
        let mut pool = WorkerPool::new(1);
        pool.submit(Box::new(|| panic!("job failed"))).unwrap();
        let (tx, rx) = mpsc::channel();
        pool.run(|| 7, move |r| tx.send(r).unwrap()).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(7));
        assert_eq!(pool.workers(), 1);
    }

    #[test]
    fn an_idle_pool_starts_no_threads() {
        assert_eq!(WorkerPool::new(4).workers(), 0);
    }
}
