//! Which share of a batch a task runs: item i belongs to shard i mod N. `--shard auto` reads the
//! array index and size the cluster engine gives each task.

use super::BatchError;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether the item at `position` in the manifest is this shard's.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    /// `K/N`, 0 ≤ K < N.
    pub fn parse(text: &str) -> Result<Shard, BatchError> {
        let bad = || BatchError::BadShard(text.to_string());
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        Self::checked(index, count).ok_or_else(bad)
    }

    fn checked(index: usize, count: usize) -> Option<Shard> {
        (count > 0 && index < count).then_some(Shard { index, count })
    }

    /// The shard of this task from the engine's environment (`var` reads a variable): Slurm job
    /// arrays, Kubernetes Indexed Jobs (with `shards`, as Kubernetes gives no count), AWS Batch
    /// array jobs.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        shards: Option<usize>,
    ) -> Result<Shard, BatchError> {
        let number = |name: &str| -> Result<Option<usize>, BatchError> {
            match var(name) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| BatchError::BadEnv {
                    name: name.into(),
                    value: v,
                }),
            }
        };
        let out_of_range = |engine: &str, index: usize, count: usize| BatchError::EnvRange {
            engine: engine.into(),
            index,
            count,
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            // With --shards the task ID is the shard itself, so resubmitting some indices
            // (`--array=1,3`) keeps their meaning; without, the array counts from its minimum in
            // its step (`--array=0-10:2` is shards 0..6: task 4 is shard 2).
            let (index, count) = match shards {
                Some(count) => (id, count),
                None => (
                    slurm_position(
                        id,
                        number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0),
                        number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1),
                    )
                    .unwrap_or(usize::MAX),
                    number("SLURM_ARRAY_TASK_COUNT")?
                        .ok_or(BatchError::NoCount("SLURM_ARRAY_TASK_COUNT"))?,
                ),
            };
            return Self::checked(index, count).ok_or(out_of_range("Slurm", id, count));
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = shards.ok_or(BatchError::NoCount(
                "--shards (Kubernetes gives no count: pass the Job's completions)",
            ))?;
            return Self::checked(index, count).ok_or(out_of_range("Kubernetes", index, count));
        }
        if let Some(index) = number("AWS_BATCH_JOB_ARRAY_INDEX")? {
            let count = number("AWS_BATCH_JOB_ARRAY_SIZE")?
                .or(shards)
                .ok_or(BatchError::NoCount("AWS_BATCH_JOB_ARRAY_SIZE"))?;
            return Self::checked(index, count).ok_or(out_of_range("AWS Batch", index, count));
        }
        Err(BatchError::NoShardEnv)
    }
}

/// The place of task `id` in a Slurm array from `min` in steps of `step`: (id - min) / step, none
/// when `id` is not one of the array's tasks.
fn slurm_position(id: usize, min: usize, step: usize) -> Option<usize> {
    let offset = id.checked_sub(min)?;
    (step > 0 && offset % step == 0).then(|| offset / step)
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn k_of_n_is_parsed_and_checked() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let s = Shard { index: 1, count: 3 };
        let owned: Vec<usize> = (0..8).filter(|i| s.owns(*i)).collect();
        assert_eq!(owned, [1, 4, 7]);
    }

    #[test]
    fn slurm_arrays_count_from_their_minimum() {
        let vars = [
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(
            Shard::from_env(env(&vars), None).unwrap(),
            Shard { index: 2, count: 4 }
        );
        let beyond = [
            ("SLURM_ARRAY_TASK_ID", "14"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert!(Shard::from_env(env(&beyond), None).is_err());
        // A resubmitted index keeps its meaning when the count is given.
        let again = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ];
        assert_eq!(
            Shard::from_env(env(&again), Some(4)).unwrap(),
            Shard { index: 3, count: 4 }
        );
        assert_eq!(
            Shard::from_env(env(&again), None).unwrap(),
            Shard { index: 0, count: 1 }
        );
    }

    #[test]
    fn slurm_array_steps_are_counted_in_steps() {
        // --array=0-10:2: six tasks, 0, 2, ..., 10, are shards 0..6.
        let task = |id: &str| {
            let vars = [
                ("SLURM_ARRAY_TASK_ID", id.to_string()),
                ("SLURM_ARRAY_TASK_MIN", "0".into()),
                ("SLURM_ARRAY_TASK_STEP", "2".into()),
                ("SLURM_ARRAY_TASK_COUNT", "6".into()),
            ];
            Shard::from_env(
                move |name| {
                    vars.iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.clone())
                },
                None,
            )
        };
        let shards: Vec<usize> = ["0", "2", "4", "6", "8", "10"]
            .iter()
            .map(|id| task(id).unwrap().index)
            .collect();
        assert_eq!(shards, [0, 1, 2, 3, 4, 5]);
        assert!(task("4").is_ok_and(|s| s.count == 6));
        // A task off the step, or a step of 0, is no shard.
        assert!(task("3").is_err());
        assert_eq!(slurm_position(7, 1, 3), Some(2));
        assert_eq!(slurm_position(5, 1, 0), None);
        assert_eq!(slurm_position(0, 1, 1), None);
    }

    #[test]
    fn kubernetes_needs_the_count_from_the_command_line() {
        let vars = [("JOB_COMPLETION_INDEX", "3")];
        let err = Shard::from_env(env(&vars), None).unwrap_err();
        assert!(err.to_string().contains("--shards"), "{err}");
        assert_eq!(
            Shard::from_env(env(&vars), Some(5)).unwrap(),
            Shard { index: 3, count: 5 }
        );
        assert!(Shard::from_env(env(&vars), Some(3)).is_err());
    }

    #[test]
    fn aws_batch_arrays_and_nothing_at_all() {
        let vars = [
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "2"),
        ];
        assert_eq!(
            Shard::from_env(env(&vars), None).unwrap(),
            Shard { index: 0, count: 2 }
        );
        let err = Shard::from_env(env(&[]), None).unwrap_err().to_string();
        for name in [
            "SLURM_ARRAY_TASK_ID",
            "JOB_COMPLETION_INDEX",
            "AWS_BATCH_JOB_ARRAY_INDEX",
        ] {
            assert!(err.contains(name), "{err}");
        }
        let garbage = [("JOB_COMPLETION_INDEX", "three")];
        assert!(Shard::from_env(env(&garbage), Some(4))
            .unwrap_err()
            .to_string()
            .contains("three"));
    }
}
