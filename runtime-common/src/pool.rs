//! A small blocking worker pool: storage requests must not run on an event
//! loop, and none of the three runtimes' own blocking pools is available to
//! the other two, so one pool of std threads serves them all.
//!
//! Jobs go in one of two lanes ([`Lane`]): small jobs are taken before bulk
//! ones, and bulk jobs run on at most all workers but one, so a small
//! storage call (the NFS WRITE a lease-break acknowledgment releases, a
//! directory's small read) never waits for another client's large
//! transfers to finish: at worst for a worker to finish a small job.

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

/// Which queue a job waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Taken first, by any worker.
    Small,
    /// Taken when no small job waits, by at most all workers but one.
    Bulk,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    work: Condvar,
    /// Workers that may run bulk jobs at once.
    max_bulk: usize,
}

#[derive(Default)]
struct State {
    small: VecDeque<Job>,
    bulk: VecDeque<Job>,
    idle: usize,
    bulk_running: usize,
    stopping: bool,
}

impl State {
    fn queued(&self) -> usize {
        self.small.len() + self.bulk.len()
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("small", &self.small.len())
            .field("bulk", &self.bulk.len())
            .field("idle", &self.idle)
            .field("bulk_running", &self.bulk_running)
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
    /// A pool of at most `max_workers` threads (at least one; with one,
    /// both lanes share it).
    pub fn new(max_workers: usize) -> Self {
        let max_workers = max_workers.max(1);
        let shared = Shared { state: Mutex::default(), work: Condvar::new(), max_bulk: (max_workers - 1).max(1) };
        Self { shared: Arc::new(shared), max_workers, threads: Vec::new() }
    }

    /// Threads started so far.
    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Queues `job` in the small lane (see [`WorkerPool::submit_to`]).
    pub fn submit(&mut self, job: Job) -> std::io::Result<()> {
        self.submit_to(Lane::Small, job)
    }

    /// Queues `job` in `lane`; it runs on an idle worker, a new one if the
    /// pool is not full yet, or else once a worker is free (for a bulk job:
    /// once fewer than all workers but one run bulk jobs). Fails only if a
    /// thread could not be started and none is running (the job is then
    /// dropped).
    pub fn submit_to(&mut self, lane: Lane, job: Job) -> std::io::Result<()> {
        let start_one = {
            let mut state = self.shared.lock();
            match lane {
                Lane::Small => state.small.push_back(job),
                Lane::Bulk => state.bulk.push_back(job),
            }
            state.queued() > state.idle && self.threads.len() < self.max_workers
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
                    let mut state = self.shared.lock();
                    state.small.clear();
                    state.bulk.clear();
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

    /// Runs a storage request on the pool, in the bulk lane when it is bulk
    /// work ([`polyshare_core::IoOp::is_bulk`]); `deliver` hands its
    /// completion to the event loop. A pool that cannot start any thread is
    /// a server that cannot do IO: logged as an error (the request's
    /// operation stays unanswered, like one on a hung disk).
    pub fn storage(
        &mut self,
        req: polyshare_core::IoRequest,
        deliver: impl FnOnce(polyshare_core::IoCompletion) + Send + 'static,
    ) {
        self.submit_storage(req.op().is_bulk(), Box::new(move || deliver(req.run())));
    }

    /// [`WorkerPool::storage`], where the worker first hands the finished
    /// reply it framed, if any ([`polyshare_core::IoCompletion::take_reply`]),
    /// to `send`, which writes it to the request's connection
    /// ([`crate::Outbox::send_reply`]; a connection that is gone drops it,
    /// as the core would); the core then sends nothing for it.
    pub fn storage_sending(
        &mut self,
        req: polyshare_core::IoRequest,
        send: impl FnOnce(polyshare_core::Reply) + Send + 'static,
        deliver: impl FnOnce(polyshare_core::IoCompletion) + Send + 'static,
    ) {
        let bulk = req.op().is_bulk();
        let job = move || {
            let mut c = req.run();
            if let Some(reply) = c.take_reply() {
                send(reply);
            }
            deliver(c)
        };
        self.submit_storage(bulk, Box::new(job));
    }

    fn submit_storage(&mut self, bulk: bool, job: Job) {
        let lane = if bulk { Lane::Bulk } else { Lane::Small };
        if let Err(e) = self.submit_to(lane, job) {
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

fn run_job(job: Job) {
    if catch_unwind(AssertUnwindSafe(job)).is_err() {
        tracing::error!("an IO job panicked");
    }
}

fn work(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if let Some(job) = state.small.pop_front() {
            drop(state);
            run_job(job);
            state = shared.lock();
        } else if state.bulk_running < shared.max_bulk
            && let Some(job) = state.bulk.pop_front()
        {
            state.bulk_running += 1;
            drop(state);
            run_job(job);
            state = shared.lock();
            state.bulk_running -= 1;
            // This worker takes the next bulk job itself; when stopping,
            // the others wait for the queues to drain and must look again.
            if state.stopping {
                shared.work.notify_all();
            }
        } else if state.stopping && state.queued() == 0 {
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

    /// Submits `jobs` jobs of 5 ms to `lane` of `pool`, shuts it down, and
    /// returns how many ran at once at most and how many ran in all.
    fn most_at_once(mut pool: WorkerPool, lane: Lane, jobs: usize) -> (usize, usize) {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..jobs {
            let (running, most, ran) = (running.clone(), most.clone(), ran.clone());
            let job = move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
                ran.fetch_add(1, Ordering::SeqCst);
            };
            pool.submit_to(lane, Box::new(job)).unwrap();
        }
        pool.shutdown();
        (most.load(Ordering::SeqCst), ran.load(Ordering::SeqCst))
    }

    #[test]
    fn never_more_jobs_at_once_than_workers() {
        let (most, ran) = most_at_once(WorkerPool::new(3), Lane::Small, 20);
        assert!((1..=3).contains(&most), "{most} at once");
        assert_eq!(ran, 20);
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
    fn a_small_job_passes_bulk_jobs_that_hold_the_workers() {
        let mut pool = WorkerPool::new(2);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let (done_tx, done_rx) = mpsc::channel();
        // Two bulk jobs that do not finish until released: one runs, the
        // other waits, and a worker stays free for small jobs.
        for i in 0..2 {
            let (release_rx, done_tx) = (release_rx.clone(), done_tx.clone());
            pool.submit_to(
                Lane::Bulk,
                Box::new(move || {
                    let _ = release_rx.lock().unwrap().recv();
                    done_tx.send(format!("bulk {i}")).unwrap();
                }),
            )
            .unwrap();
        }
        let tx = done_tx.clone();
        pool.submit_to(Lane::Small, Box::new(move || tx.send("small".to_string()).unwrap())).unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)).as_deref(), Ok("small"));
        drop(release_tx);
        let mut bulk: Vec<String> = (0..2).map(|_| done_rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
        bulk.sort();
        assert_eq!(bulk, ["bulk 0", "bulk 1"]);
    }

    #[test]
    fn bulk_jobs_leave_one_worker_free() {
        let (most, ran) = most_at_once(WorkerPool::new(3), Lane::Bulk, 12);
        assert_eq!(ran, 12, "shutdown runs every bulk job queued");
        assert_eq!(most, 2, "at most all workers but one at once");
    }

    #[test]
    fn an_idle_pool_starts_no_threads() {
        assert_eq!(WorkerPool::new(4).workers(), 0);
    }
}
