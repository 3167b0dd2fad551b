//! Tests in parallel: independent tests each a job; the tests of a file that pass snapshots
//! to one another (`from`) one job, in file order. `jobs` workers take jobs from one queue;
//! each verdict is reported as it comes.

use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Mutex};

use super::exec::{self, Context, Verdict};
use super::model::{Action, TestCase};

/// Groups `tests` into jobs: a file whose tests hand snapshots on runs as one job.
pub fn jobs(tests: Vec<TestCase>) -> Vec<Vec<TestCase>> {
    let chained = |t: &TestCase| {
        t.from.is_some()
            || t.steps
                .iter()
                .any(|s| matches!(s.action, Action::Snapshot(_)))
    };
    let mut jobs: Vec<Vec<TestCase>> = Vec::new();
    for test in tests {
        let joins = chained(&test)
            && jobs.last().is_some_and(|j| {
                j.last()
                    .is_some_and(|last| last.file == test.file && chained(last))
            });
        match jobs.last_mut() {
            Some(job) if joins => job.push(test),
            _ => jobs.push(vec![test]),
        }
    }
    jobs
}

/// Runs `jobs` on `workers` threads; `report` hears each verdict as it comes, in this thread.
pub fn run(
    jobs: Vec<Vec<TestCase>>,
    workers: usize,
    ctx: Arc<Context>,
    mut report: impl FnMut(Verdict),
) {
    let queue = Arc::new(Mutex::new(jobs.into_iter().collect::<VecDeque<_>>()));
    let (verdicts, heard) = mpsc::channel();
    let mut threads = Vec::new();
    for i in 0..workers.max(1) {
        let (queue, ctx, verdicts) = (queue.clone(), ctx.clone(), verdicts.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("test-worker-{i}"))
            .spawn(move || loop {
                let Some(job) = vmm_machine::sync::lock(&queue).pop_front() else {
                    return;
                };
                for case in &job {
                    if verdicts.send(exec::run(case, &ctx)).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(_) if !threads.is_empty() => break,
            Err(e) => {
                crate::errln!("picovmm test: cannot start a worker thread: {e}");
                return;
            }
        }
    }
    drop(verdicts);
    for verdict in heard {
        report(verdict);
    }
    for thread in threads {
        let _ = thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::model::{MachineDesc, Step, TEST_TIMEOUT};
    use std::path::PathBuf;

    fn case(file: &str, name: &str, from: Option<&str>, saves: bool) -> TestCase {
        let steps = if saves {
            vec![Step {
                action: Action::Snapshot("s".into()),
                timeout: TEST_TIMEOUT,
                line: 1,
                text: String::new(),
            }]
        } else {
            Vec::new()
        };
        TestCase {
            id: format!("{file}::{name}"),
            name: name.into(),
            file: PathBuf::from(file),
            machine: MachineDesc {
                file: None,
                image: None,
                drives: Vec::new(),
                memory: None,
                accel: None,
            },
            from: from.map(str::to_owned),
            timeout: TEST_TIMEOUT,
            steps,
        }
    }

    #[test]
    fn test_jobs_keep_a_snapshot_chain_together_and_the_rest_apart() {
        let tests = vec![
            case("a", "1", None, false),
            case("a", "2", None, true),
            case("a", "3", Some("s"), false),
            case("b", "4", Some("s"), false),
            case("b", "5", None, false),
        ];
        let ids: Vec<Vec<String>> = jobs(tests)
            .iter()
            .map(|j| j.iter().map(|t| t.id.clone()).collect())
            .collect();
        assert_eq!(
            ids,
            vec![
                vec!["a::1"],
                vec!["a::2", "a::3"],
                vec!["b::4"],
                vec!["b::5"]
            ]
        );
    }
}
