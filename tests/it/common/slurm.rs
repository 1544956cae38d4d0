//! A real one-node Slurm cluster for a test: munged, slurmctld and slurmd from Debian's packages, run
//! in the foreground on 127.0.0.1 under a temporary folder, with two fake GPUs (gres on character
//! devices). Nothing of the system's services or configuration is used; every daemon is stopped by
//! PID when the cluster is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cluster {
    pub dir: tempfile::TempDir,
    daemons: Vec<(&'static str, Child)>,
}

const PROGRAMS: [&str; 5] = ["munged", "slurmctld", "slurmd", "sbatch", "scontrol"];

fn on_path(program: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(program).is_file())
}

/// Why the cluster cannot run here, if it cannot: in CI a failure, elsewhere a skip that says how to
/// enable it (on a systemd machine the packages start system services, so nothing installs them
/// unasked).
pub fn unavailable() -> Option<String> {
    let missing: Vec<&str> = PROGRAMS.iter().copied().filter(|p| !on_path(p)).collect();
    let reason = if !missing.is_empty() {
        format!(
            "{} not installed: `sudo apt-get install slurmctld slurmd slurm-client munge` enables \
             this test (CI=true ./posecam.sh test installs them)",
            missing.join(", ")
        )
    } else if unsafe { libc::geteuid() } != 0 {
        "a one-node Slurm cluster needs root (slurmd starts jobs as their user)".to_string()
    } else {
        return None;
    };
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(!ci, "CI: the Slurm test cannot run: {reason}");
    Some(reason)
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let d = d.as_path();
        for sub in ["state", "spool", "log"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let key: Vec<u8> = (0..1024).map(|i| (i * 7919 % 251) as u8).collect();
        std::fs::write(d.join("munge.key"), key).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join("munge.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let p = |name: &str| d.join(name).to_string_lossy().into_owned();
        let conf = format!(
            "ClusterName=posecamtest\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort={}\n\
             SlurmdPort={}\nSlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\n\
             AuthInfo=socket={}\nCredType=cred/munge\nStateSaveLocation={}\nSlurmdSpoolDir={}\n\
             SlurmctldPidFile={}\nSlurmdPidFile={}\nSlurmctldLogFile={}\nSlurmdLogFile={}\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSchedulerType=sched/backfill\n\
             SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nGresTypes=gpu\n\
             ReturnToService=2\nMpiDefault=none\nJobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\nSlurmdParameters=config_overrides\n\
             KillWait=5\nMinJobAge=600\n\
             NodeName=pc1 NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 \
             Gres=gpu:2 State=UNKNOWN\n\
             PartitionName=main Nodes=pc1 Default=YES MaxTime=INFINITE State=UP\n",
            free_port(),
            free_port(),
            p("munge.sock"),
            p("state"),
            p("spool"),
            p("slurmctld.pid"),
            p("slurmd.pid"),
            p("log/slurmctld.log"),
            p("log/slurmd.log"),
        );
        std::fs::write(d.join("slurm.conf"), conf).unwrap();
        std::fs::write(
            d.join("gres.conf"),
            "NodeName=pc1 Name=gpu File=/dev/null\nNodeName=pc1 Name=gpu File=/dev/zero\n",
        )
        .unwrap();
        let mut cluster = Cluster {
            dir,
            daemons: Vec::new(),
        };
        let munge = [
            "-F".to_string(),
            "-f".into(),
            format!("--key-file={}", p("munge.key")),
            format!("--socket={}", p("munge.sock")),
            format!("--log-file={}", p("log/munged.log")),
            format!("--pid-file={}", p("munged.pid")),
            format!("--seed-file={}", p("munge.seed")),
        ];
        cluster.spawn("munged", &munge);
        wait_until("munged's socket", || Path::new(&p("munge.sock")).exists());
        let conf = p("slurm.conf");
        cluster.spawn(
            "slurmctld",
            &["-D".into(), "-i".into(), "-f".into(), conf.clone()],
        );
        cluster.spawn(
            "slurmd",
            &["-D".into(), "-N".into(), "pc1".into(), "-f".into(), conf],
        );
        wait_until("the node to be idle", || {
            let o = cluster.command("sinfo").args(["-h", "-o", "%t"]).output();
            o.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        cluster
    }

    fn spawn(&mut self, program: &'static str, args: &[String]) {
        let log =
            std::fs::File::create(self.dir.path().join(format!("log/{program}.out"))).unwrap();
        let child = Command::new(program)
            .args(args)
            .env("SLURM_CONF", self.conf())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        self.daemons.push((program, child));
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }

    /// A Slurm client command (or anything that calls one) talking to this cluster.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", self.conf()).stdin(Stdio::null());
        c
    }

    /// Each task of job `id` (`JobId=…` lines of `scontrol show job`), once all have ended.
    pub fn wait_for_job(&self, id: &str) -> Vec<String> {
        let mut lines = Vec::new();
        wait_until(&format!("job {id} to end"), || {
            let o = self
                .command("scontrol")
                .args(["show", "job", "-o", id])
                .output()
                .unwrap();
            lines = String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect();
            !lines.is_empty()
                && lines.iter().all(|l| {
                    [
                        "COMPLETED",
                        "FAILED",
                        "CANCELLED",
                        "TIMEOUT",
                        "NODE_FAIL",
                        "OUT_OF_MEMORY",
                    ]
                    .iter()
                    .any(|s| l.contains(&format!("JobState={s} ")))
                })
        });
        lines
    }

    /// The daemons' logs, for a failing test's message.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for name in [
            "slurmctld.log",
            "slurmd.log",
            "munged.out",
            "slurmd.out",
            "slurmctld.out",
        ] {
            let text =
                std::fs::read_to_string(self.dir.path().join("log").join(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            all.push_str(&format!("--- {name}\n"));
            for line in tail.into_iter().rev() {
                all.push_str(line);
                all.push('\n');
            }
        }
        all
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + super::DEADLINE;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// PIDs of running slurmstepd processes.
fn step_daemons() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            (comm.trim() == "slurmstepd").then_some(pid)
        })
        .collect()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // slurmd first (its job steps end with it), then the controller, then munge.
        for (_, child) in self.daemons.iter_mut().rev() {
            // SAFETY: kill signals a daemon this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        // A slurmstepd can outlive slurmd by about a second.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !step_daemons().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
