//! Latency samples and their percentiles, and the resident memory of a process from `/proc`.

use std::collections::BTreeMap;
use std::time::Duration;

/// Latencies of one kind of request.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u64>,
    /// Requests that failed (transport error or unexpected status).
    pub errors: u64,
}

impl Samples {
    /// Records one successful request.
    pub fn push(&mut self, d: Duration) {
        self.micros.push(d.as_micros() as u64);
    }

    /// Adds another set.
    pub fn merge(&mut self, other: &Samples) {
        self.micros.extend_from_slice(&other.micros);
        self.errors += other.errors;
    }

    /// Successful requests.
    pub fn count(&self) -> usize {
        self.micros.len()
    }

    /// The p-th percentile (0–100) in milliseconds, nearest-rank; 0 without samples.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        let mut v = self.micros.clone();
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
    }

    /// One summary line: count, rate, p50/p95/p99/max.
    pub fn line(&self, label: &str, wall: Duration) -> String {
        format!(
            "{label:<34} n={:>7} err={:>4} {:>8.1} req/s  p50={:>7.2} ms  p95={:>7.2} ms  p99={:>7.2} ms  max={:>8.2} ms",
            self.count(),
            self.errors,
            self.count() as f64 / wall.as_secs_f64().max(1e-9),
            self.percentile_ms(50.0),
            self.percentile_ms(95.0),
            self.percentile_ms(99.0),
            self.percentile_ms(100.0),
        )
    }
}

/// Samples by label, reported in label order.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Per label.
    pub by_label: BTreeMap<String, Samples>,
}

impl Report {
    /// The samples of a label.
    pub fn entry(&mut self, label: &str) -> &mut Samples {
        self.by_label.entry(label.to_owned()).or_default()
    }

    /// Adds another report.
    pub fn merge(&mut self, other: &Report) {
        for (k, v) in &other.by_label {
            self.entry(k).merge(v);
        }
    }

    /// All labels together.
    pub fn total(&self) -> Samples {
        let mut t = Samples::default();
        for s in self.by_label.values() {
            t.merge(s);
        }
        t
    }
}

/// Memory figures of a process, in kB, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub rss_kb: u64,
    /// Peak resident set size (`VmHWM`).
    pub hwm_kb: u64,
}

/// Reads `VmRSS` and `VmHWM` of a process; `None` if it is gone.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(parse_status(&status))
}

fn parse_status(status: &str) -> Memory {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kb: field("VmRSS:"),
        hwm_kb: field("VmHWM:"),
    }
}

/// CPU time a process has used so far (user + system), from `/proc/<pid>/stat`, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu(&stat)
}

fn parse_cpu(stat: &str) -> Option<f64> {
    // Fields after the command name (which may hold spaces, hence the last ')'): state is
    // field 3, utime field 14, stime field 15, in clock ticks of 1/100 s on Linux.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Samples a process's memory in the background until stopped, keeping the highest `VmRSS`
/// seen, and the CPU time it used meanwhile.
pub struct MemoryWatch {
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    last: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
    pid: u32,
    cpu_start: f64,
    own_cpu_start: f64,
}

impl MemoryWatch {
    /// Starts sampling every 200 ms.
    pub fn start(pid: u32) -> MemoryWatch {
        use std::sync::atomic::Ordering;
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let last = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (p, l) = (peak.clone(), last.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                let Some(m) = memory(pid) else { break };
                p.fetch_max(m.rss_kb, Ordering::Relaxed);
                l.store(m.rss_kb, Ordering::Relaxed);
            }
        });
        MemoryWatch {
            peak,
            last,
            task,
            pid,
            cpu_start: cpu_seconds(pid).unwrap_or(0.0),
            own_cpu_start: cpu_seconds(std::process::id()).unwrap_or(0.0),
        }
    }

    /// Stops sampling: (highest VmRSS seen, last VmRSS, VmHWM now) in kB, the CPU seconds the
    /// process used since the start, and those this (client) process used.
    pub fn stop(self) -> (u64, u64, u64, f64, f64) {
        use std::sync::atomic::Ordering;
        self.task.abort();
        let hwm = memory(self.pid).map_or(0, |m| m.hwm_kb);
        let cpu = cpu_seconds(self.pid).map_or(0.0, |c| c - self.cpu_start);
        let own = cpu_seconds(std::process::id()).map_or(0.0, |c| c - self.own_cpu_start);
        (
            self.peak.load(Ordering::Relaxed),
            self.last.load(Ordering::Relaxed),
            hwm,
            cpu,
            own,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut s = Samples::default();
        for ms in 1..=100u64 {
            s.push(Duration::from_millis(ms));
        }
        assert_eq!(s.percentile_ms(50.0), 50.0);
        assert_eq!(s.percentile_ms(95.0), 95.0);
        assert_eq!(s.percentile_ms(99.0), 99.0);
        assert_eq!(s.percentile_ms(100.0), 100.0);
        assert_eq!(Samples::default().percentile_ms(95.0), 0.0);
    }

    #[test]
    fn reports_merge_by_label() {
        let mut a = Report::default();
        a.entry("x").push(Duration::from_millis(1));
        let mut b = Report::default();
        b.entry("x").push(Duration::from_millis(2));
        b.entry("y").errors += 1;
        a.merge(&b);
        assert_eq!(a.entry("x").count(), 2);
        assert_eq!(a.total().errors, 1);
    }

    #[test]
    fn proc_status_memory_lines_are_read_in_kilobytes() {
        let m = parse_status("Name:\tliaison\nVmHWM:\t  183400 kB\nVmRSS:\t  120016 kB\n");
        assert_eq!(
            m,
            Memory {
                rss_kb: 120_016,
                hwm_kb: 183_400
            }
        );
    }

    #[test]
    fn proc_stat_cpu_time_is_user_plus_system_ticks() {
        let stat = "1234 (liaison web) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 8 0 100";
        assert_eq!(parse_cpu(stat), Some(3.0));
    }

    #[test]
    fn this_process_has_a_resident_set() {
        let m = memory(std::process::id()).expect("own status");
        assert!(m.rss_kb > 0 && m.hwm_kb >= m.rss_kb);
    }
}
