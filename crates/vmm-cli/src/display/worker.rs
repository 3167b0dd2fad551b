//! The display's worker: what a key asks for that takes time or stack (a PNG, a monitor
//! command that waits for the guest) runs here, in order, so the input thread, with its small
//! stack, only reads keys and Ctrl-a x always gets through.

use std::sync::mpsc::{channel, Sender};

type Job = Box<dyn FnOnce() + Send>;

/// A queue of jobs for the worker thread; the thread ends when every clone is dropped.
#[derive(Clone)]
pub struct Worker(Sender<Job>);

impl Worker {
    /// Starts the worker thread.
    pub fn start() -> std::io::Result<Worker> {
        let (jobs, queue) = channel::<Job>();
        std::thread::Builder::new()
            .name("display-worker".into())
            .spawn(move || {
                for job in queue {
                    job();
                }
            })?;
        Ok(Worker(jobs))
    }

    /// Runs `job` on the worker thread, after those queued before it.
    pub fn run(&self, job: impl FnOnce() + Send + 'static) {
        let _ = self.0.send(Box::new(job));
    }
}
