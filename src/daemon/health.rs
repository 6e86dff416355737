//! The machine facts a worker reports in its status answer: board model,
//! uptime, load, memory, SoC temperature, firmware throttling, CPU clock, the
//! sysctls the package sets, and the machine's addresses.
//!
//! The event loop answers status requests itself, on its one thread, so
//! [`HostProbe::read`] must never block: it only reads a handful of small
//! files under /proc and /sys, which the kernel answers from memory. It spawns
//! no process and resolves no name. Facts whose file has to be found first
//! (the thermal zone, get_throttled, cpufreq) are looked for once and the path
//! is kept, so each later read is one open; an absence is kept for a minute so
//! a VM does not search on every request. The one fact that can need a
//! process, `vcgencmd get_throttled` on kernels without the sysfs file, is
//! gathered by a background thread ([`spawn_vcgencmd_poller`]) and only its
//! last value is read on the loop.
//!
//! A fact the machine does not have is `None`, never zero: a VM has no thermal
//! zone and no device-tree model, and often no cpufreq. A file that holds
//! something unexpected gives `None` for its fact too, never a panic. Every
//! path is read under a root directory (`/` normally), so tests and
//! containers can point the probe at a fake tree of the same layout.

use std::fs::{self, File};
use std::io::Read;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The sysctl keys whose values the worker reports, the ones the package's snippet sets
/// (reported so the head's doctor can compare them with the snippet).
pub const REPORTED_SYSCTLS: &[&str] = &[
    "net.core.rmem_max",
    "net.core.wmem_max",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.core.netdev_max_backlog",
    "net.core.somaxconn",
];

pub use crate::protocol::throttle::{
    describe_throttled, CAPPED_BEFORE, CAPPED_NOW, SOFT_TEMP_BEFORE, SOFT_TEMP_NOW, THROTTLED_BEFORE, THROTTLED_NOW,
    UNDER_VOLTAGE_BEFORE, UNDER_VOLTAGE_NOW,
};

/// The largest file the probe reads. The biggest one it wants, /proc/meminfo,
/// is under 2 KiB; anything far larger is not what we expect, so it is
/// garbage rather than something to read on the event loop.
const MAX_FILE: usize = 64 * 1024;

/// How long an absent thermal zone, get_throttled or cpufreq file is believed
/// absent before it is looked for again (a driver may load late; a search
/// on every status request would be wasted work on a VM).
const RECHECK_ABSENT: Duration = Duration::from_secs(60);

/// Temperatures outside this range (millidegrees C) are taken for a driver's
/// "no reading" sentinel (-274000, INT_MAX, ...) rather than a measurement.
const PLAUSIBLE_MILLIC: RangeInclusive<i32> = -100_000..=250_000;

/// The value in the poller's cell until vcgencmd has answered, and after a
/// run that failed: a real reading fits in 32 bits, so it cannot be this.
const NO_VALUE: u64 = u64::MAX;

/// How long one `vcgencmd get_throttled` may take before it is killed.
const VCGENCMD_TIMEOUT: Duration = Duration::from_secs(2);

/// The shortest gap between two vcgencmd runs, so a zero `every` cannot make
/// the poller spin.
const MIN_POLL_GAP: Duration = Duration::from_millis(100);

/// The facts a worker reports. Absent facts are `None`; see the module doc.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// /proc/device-tree/model, without its trailing NUL.
    pub model: Option<String>,
    /// /proc/uptime, first field.
    pub uptime_secs: Option<f64>,
    /// /proc/loadavg: the 1, 5 and 15 minute load averages.
    pub load: Option<[f32; 3]>,
    /// /proc/meminfo MemTotal.
    pub mem_total_kib: Option<u64>,
    /// /proc/meminfo MemAvailable.
    pub mem_available_kib: Option<u64>,
    /// The SoC (or CPU package) temperature in millidegrees C.
    pub temp_millic: Option<i32>,
    /// The firmware's get_throttled bits; see [`describe_throttled`].
    pub throttled: Option<u32>,
    /// The current clock of the first CPU the worker may use, in kHz.
    pub cpu_freq_khz: Option<u32>,
    /// (key, value) for each of [`REPORTED_SYSCTLS`] that exists, in that
    /// order, with runs of whitespace in the value collapsed to one space.
    pub sysctls: Vec<(String, String)>,
}

/// Reads [`Facts`] under a root directory, keeping what it had to search for.
pub struct HostProbe {
    root: PathBuf,
    model: PathBuf,
    uptime: PathBuf,
    loadavg: PathBuf,
    meminfo: PathBuf,
    sysctls: Vec<(&'static str, PathBuf)>,
    /// Reused for every file so a read allocates only the facts it returns.
    buf: Vec<u8>,
    thermal: Located,
    throttled: Located,
    cpufreq: Located,
    /// The CPU whose cpufreq file `cpufreq` holds.
    cpufreq_cpu: usize,
    vcgencmd: Option<Arc<AtomicU64>>,
}

/// Where a fact's file was found, if it has been looked for.
enum Located {
    NotSought,
    At(PathBuf),
    Absent(Instant),
}

impl HostProbe {
    /// A probe reading under `root` (`/` for this machine).
    pub fn new(root: PathBuf) -> HostProbe {
        let sysctls =
            REPORTED_SYSCTLS.iter().map(|&key| (key, root.join("proc/sys").join(key.replace('.', "/")))).collect();
        HostProbe {
            model: root.join("proc/device-tree/model"),
            uptime: root.join("proc/uptime"),
            loadavg: root.join("proc/loadavg"),
            meminfo: root.join("proc/meminfo"),
            sysctls,
            buf: Vec::with_capacity(4096),
            thermal: Located::NotSought,
            throttled: Located::NotSought,
            cpufreq: Located::NotSought,
            cpufreq_cpu: 0,
            vcgencmd: None,
            root,
        }
    }

    /// Takes throttle bits from a [`spawn_vcgencmd_poller`] cell whenever the
    /// sysfs get_throttled file cannot be read.
    pub fn with_vcgencmd(mut self, cell: Arc<AtomicU64>) -> HostProbe {
        self.vcgencmd = Some(cell);
        self
    }

    /// Reads every fact now. Cheap (a handful of small file reads); must not panic on any file content.
    /// `first_cpu` is the first CPU the worker may use, whose clock is reported.
    pub fn read(&mut self, first_cpu: usize) -> Facts {
        let (mem_total_kib, mem_available_kib) =
            read_text(&self.meminfo, &mut self.buf).map_or((None, None), parse_meminfo);
        Facts {
            model: read_text(&self.model, &mut self.buf).and_then(parse_model),
            uptime_secs: read_text(&self.uptime, &mut self.buf).and_then(parse_uptime),
            load: read_text(&self.loadavg, &mut self.buf).and_then(parse_loadavg),
            mem_total_kib,
            mem_available_kib,
            temp_millic: self.read_temp(),
            throttled: self.read_throttled(),
            cpu_freq_khz: self.read_cpu_freq(first_cpu),
            sysctls: self.read_sysctls(),
        }
    }

    fn read_temp(&mut self) -> Option<i32> {
        let root = &self.root;
        read_located(&mut self.thermal, &mut self.buf, |buf| find_thermal_zone(root, buf), parse_temp)
    }

    fn read_throttled(&mut self) -> Option<u32> {
        let root = &self.root;
        let sysfs = read_located(&mut self.throttled, &mut self.buf, |buf| find_get_throttled(root, buf), parse_hex);
        sysfs.or_else(|| self.vcgencmd.as_ref().and_then(|cell| u32::try_from(cell.load(Ordering::Relaxed)).ok()))
    }

    fn read_cpu_freq(&mut self, first_cpu: usize) -> Option<u32> {
        if first_cpu != self.cpufreq_cpu {
            // The worker's CPU set changed: the kept file is another CPU's.
            self.cpufreq = Located::NotSought;
            self.cpufreq_cpu = first_cpu;
        }
        let root = &self.root;
        read_located(&mut self.cpufreq, &mut self.buf, |buf| find_cpufreq(root, first_cpu, buf), parse_khz)
    }

    fn read_sysctls(&mut self) -> Vec<(String, String)> {
        let mut found = Vec::with_capacity(self.sysctls.len());
        for (key, path) in &self.sysctls {
            if let Some(value) = read_text(path, &mut self.buf).and_then(collapse_whitespace) {
                found.push((key.to_string(), value));
            }
        }
        found
    }
}

/// Reads a fact through its kept path. When nothing is kept yet, or the kept
/// file no longer gives a value (a driver reloaded, a zone went away),
/// `search` looks again, unless it found nothing less than a minute ago.
fn read_located<T>(
    slot: &mut Located,
    buf: &mut Vec<u8>,
    search: impl FnOnce(&mut Vec<u8>) -> Option<(PathBuf, T)>,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    match slot {
        Located::At(path) => {
            if let Some(value) = read_text(path, buf).and_then(&parse) {
                return Some(value);
            }
        }
        Located::Absent(since) if since.elapsed() < RECHECK_ABSENT => return None,
        _ => {}
    }
    match search(buf) {
        Some((path, value)) => {
            *slot = Located::At(path);
            Some(value)
        }
        None => {
            *slot = Located::Absent(Instant::now());
            None
        }
    }
}

/// The text of a small file, or `None` if it cannot be read, is larger than
/// [`MAX_FILE`] or is not UTF-8. Reuses `buf` to spare an allocation.
fn read_text<'b>(path: &Path, buf: &'b mut Vec<u8>) -> Option<&'b str> {
    buf.clear();
    let file = File::open(path).ok()?;
    file.take(MAX_FILE as u64 + 1).read_to_end(buf).ok()?;
    if buf.len() > MAX_FILE {
        return None;
    }
    std::str::from_utf8(buf).ok()
}

/// The temperature file of the thermal zone that best stands for the SoC,
/// with its first reading. Zones whose `temp` cannot be read or parsed are
/// passed over (a disabled zone answers with an error).
fn find_thermal_zone(root: &Path, buf: &mut Vec<u8>) -> Option<(PathBuf, i32)> {
    let entries = fs::read_dir(root.join("sys/class/thermal")).ok()?;
    let mut zones: Vec<(u8, u64, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let number = entry.file_name().to_str()?.strip_prefix("thermal_zone")?.parse().ok()?;
            let zone = entry.path();
            let rank = read_text(&zone.join("type"), buf).map_or(u8::MAX, zone_rank);
            Some((rank, number, zone))
        })
        .collect();
    // Best kind first, then by zone number (numerically: zone10 after zone2).
    zones.sort();
    zones.into_iter().find_map(|(_, _, zone)| {
        let temp = zone.join("temp");
        read_text(&temp, buf).and_then(parse_temp).map(|millic| (temp, millic))
    })
}

/// How well a zone's `type` stands for the SoC: 0 is Raspberry Pi OS's own
/// name, 1 a CPU or SoC sensor elsewhere, 2 anything else (still better than
/// nothing, as on a board with a single generic zone).
fn zone_rank(kind: &str) -> u8 {
    let kind = kind.trim().to_ascii_lowercase();
    if kind == "cpu-thermal" {
        0
    } else if ["cpu", "soc", "x86_pkg_temp"].iter().any(|word| kind.contains(word)) {
        1
    } else {
        2
    }
}

/// The firmware driver's get_throttled file, with its first reading. The
/// exact path is where Raspberry Pi OS kernels put it; the search covers
/// device trees whose soc node has an address in its name (`soc@107c000000`).
fn find_get_throttled(root: &Path, buf: &mut Vec<u8>) -> Option<(PathBuf, u32)> {
    let exact = root.join("sys/devices/platform/soc/soc:firmware/get_throttled");
    if let Some(bits) = read_text(&exact, buf).and_then(parse_hex) {
        return Some((exact, bits));
    }
    let platform = root.join("sys/devices/platform");
    let socs = sorted_dirs(&platform, |name| name.starts_with("soc"));
    socs.iter().flat_map(|soc| sorted_dirs(soc, |_| true)).find_map(|device| {
        let file = device.join("get_throttled");
        read_text(&file, buf).and_then(parse_hex).map(|bits| (file, bits))
    })
}

/// The entries of `dir` whose names pass `keep`, sorted so a search is
/// repeatable.
fn sorted_dirs(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_str().is_some_and(&keep))
        .map(|entry| entry.path())
        .collect();
    found.sort();
    found
}

/// The cpufreq file for `first_cpu`, with its first reading:
/// scaling_cur_freq (readable by anyone), then cpuinfo_cur_freq (often root
/// only), then the same for cpu0, since on a Pi all cores share one clock.
fn find_cpufreq(root: &Path, first_cpu: usize, buf: &mut Vec<u8>) -> Option<(PathBuf, u32)> {
    let cpus: &[usize] = if first_cpu == 0 { &[0] } else { &[first_cpu, 0] };
    cpus.iter()
        .flat_map(|cpu| {
            let dir = root.join(format!("sys/devices/system/cpu/cpu{cpu}/cpufreq"));
            [dir.join("scaling_cur_freq"), dir.join("cpuinfo_cur_freq")]
        })
        .find_map(|file| read_text(&file, buf).and_then(parse_khz).map(|khz| (file, khz)))
}

/// The board name from the device tree, which ends in a NUL.
fn parse_model(text: &str) -> Option<String> {
    let model = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let printable = !model.is_empty() && !model.chars().any(char::is_control);
    printable.then(|| model.to_string())
}

/// Seconds since boot: the first field of /proc/uptime.
fn parse_uptime(text: &str) -> Option<f64> {
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then_some(secs)
}

/// The three load averages at the start of /proc/loadavg.
fn parse_loadavg(text: &str) -> Option<[f32; 3]> {
    let mut fields = text.split_whitespace();
    let mut load = [0.0; 3];
    for slot in &mut load {
        let value: f32 = fields.next()?.parse().ok()?;
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        *slot = value;
    }
    Some(load)
}

/// MemTotal and MemAvailable from /proc/meminfo, in KiB (the kernel writes
/// "kB" and means KiB). A total of zero is no answer; a kernel older than 3.14
/// has no MemAvailable.
pub(crate) fn parse_meminfo(text: &str) -> (Option<u64>, Option<u64>) {
    let (mut total, mut available) = (None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let slot = match key {
            "MemTotal" => &mut total,
            "MemAvailable" => &mut available,
            _ => continue,
        };
        if slot.is_none() {
            *slot = parse_kib(value);
        }
    }
    (total.filter(|&kib| kib > 0), available)
}

/// "   3884484 kB" as 3884484.
fn parse_kib(value: &str) -> Option<u64> {
    let mut words = value.split_whitespace();
    let kib = words.next()?.parse().ok()?;
    match (words.next(), words.next()) {
        (None | Some("kB"), None) => Some(kib),
        _ => None,
    }
}

/// A thermal zone's `temp`, in millidegrees C. A few drivers report whole
/// degrees; they are taken as millidegrees too, rather than guessed at.
fn parse_temp(text: &str) -> Option<i32> {
    let millic: i32 = text.trim().parse().ok()?;
    PLAUSIBLE_MILLIC.contains(&millic).then_some(millic)
}

/// A CPU clock in kHz; zero means the driver has no reading.
fn parse_khz(text: &str) -> Option<u32> {
    text.trim().parse().ok().filter(|&khz| khz > 0)
}

/// get_throttled's hex text, with or without "0x" ("50005", "0x50005").
fn parse_hex(text: &str) -> Option<u32> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    // from_str_radix would also take a leading '+'.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// A sysctl value with each run of whitespace (tcp_rmem uses tabs) as one
/// space, so it compares equal to the snippet's; `None` if it is empty or
/// holds control characters (NULs), which no sysctl prints.
fn collapse_whitespace(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let clean = !words.is_empty() && !words.iter().any(|word| word.chars().any(char::is_control));
    clean.then(|| words.join(" "))
}

/// Parses `vcgencmd get_throttled` output ("throttled=0x50005").
pub fn parse_vcgencmd_throttled(text: &str) -> Option<u32> {
    parse_hex(text.trim().strip_prefix("throttled=")?)
}

/// Starts a background thread that runs `vcgencmd get_throttled` every `every` and keeps the last value,
/// only if the sysfs file is absent and `vcgencmd` is found on PATH; returns None otherwise.
///
/// "Absent" means no readable get_throttled file under `root` (a file only
/// root may read counts as absent, since vcgencmd may still work for the
/// video group). The cell holds the last run's bits, or `u64::MAX` before the
/// first answer and after a run that failed: old bits that can no longer be
/// refreshed would claim a "now" they do not know. Runs are at least 100 ms
/// apart; one that takes over 2 s is killed. The thread ends once every
/// other handle to the cell has been dropped.
pub fn spawn_vcgencmd_poller(root: &Path, every: Duration) -> Option<Arc<AtomicU64>> {
    if find_get_throttled(root, &mut Vec::new()).is_some() {
        return None;
    }
    let program = find_on_path("vcgencmd")?;
    log::debug!("reading throttling from {} every {every:?}", program.display());
    start_poller(
        move || {
            let mut command = Command::new(&program);
            command.arg("get_throttled");
            command
        },
        every,
    )
}

/// Starts the thread that runs `command()` every `every` and stores what
/// [`parse_vcgencmd_throttled`] makes of its output in the returned cell.
fn start_poller(command: impl Fn() -> Command + Send + 'static, every: Duration) -> Option<Arc<AtomicU64>> {
    let cell = Arc::new(AtomicU64::new(NO_VALUE));
    let mine = Arc::clone(&cell);
    let gap = every.max(MIN_POLL_GAP);
    let poll = move || {
        // Only this thread holds the cell: no probe will read it again.
        while Arc::strong_count(&mine) > 1 {
            let output = run_with_timeout(command(), VCGENCMD_TIMEOUT);
            let bits = output.as_deref().and_then(parse_vcgencmd_throttled);
            mine.store(bits.map_or(NO_VALUE, u64::from), Ordering::Relaxed);
            thread::sleep(gap);
        }
    };
    thread::Builder::new().name("vcgencmd".into()).spawn(poll).ok()?;
    Some(cell)
}

/// Runs `command` and returns its standard output if it exits successfully
/// within `timeout`; a command that takes longer is killed.
fn run_with_timeout(mut command: Command, timeout: Duration) -> Option<String> {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().ok()?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) => return None,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    // The output is one short line, so it fitted in the pipe while the
    // command ran; the read ends at once.
    let mut output = String::new();
    child.stdout.take()?.take(MAX_FILE as u64).read_to_string(&mut output).ok()?;
    Some(output)
}

/// `name` in an absolute directory of PATH, if it is an executable file there.
fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|file| fs::metadata(file).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A fake root directory, removed when dropped (a failing test too).
    struct FakeRoot(PathBuf);

    impl FakeRoot {
        fn new(tag: &str) -> FakeRoot {
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let n = COUNT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("piworker-health-{tag}-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create the fake root");
            FakeRoot(dir)
        }

        fn write(&self, relative: &str, contents: impl AsRef<[u8]>) {
            let file = self.0.join(relative);
            fs::create_dir_all(file.parent().expect("a file has a parent")).expect("create the file's directory");
            fs::write(&file, contents).expect("write a fake file");
        }

        fn remove(&self, relative: &str) {
            fs::remove_file(self.0.join(relative)).expect("remove a fake file");
        }

        fn probe(&self) -> HostProbe {
            HostProbe::new(self.0.clone())
        }
    }

    impl Drop for FakeRoot {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const MEMINFO: &str = "MemTotal:        3884484 kB\nMemFree:         2871944 kB\n\
                           MemAvailable:    3452768 kB\nBuffers:           52192 kB\n";

    /// The files a Raspberry Pi 4 running Raspberry Pi OS has.
    fn raspberry_pi_4() -> FakeRoot {
        let root = FakeRoot::new("pi4");
        root.write("proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0");
        root.write("proc/uptime", "12345.67 45678.90\n");
        root.write("proc/loadavg", "0.52 0.58 0.59 1/189 1234\n");
        root.write("proc/meminfo", MEMINFO);
        root.write("sys/class/thermal/thermal_zone0/type", "rp1_adc\n");
        root.write("sys/class/thermal/thermal_zone0/temp", "31000\n");
        root.write("sys/class/thermal/thermal_zone1/type", "cpu-thermal\n");
        root.write("sys/class/thermal/thermal_zone1/temp", "48686\n");
        root.write("sys/devices/platform/soc/soc:firmware/get_throttled", "50005\n");
        root.write("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "1500000\n");
        root.write("proc/sys/net/core/rmem_max", "4194304\n");
        root.write("proc/sys/net/core/wmem_max", "4194304\n");
        root.write("proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t4194304\n");
        root.write("proc/sys/net/ipv4/tcp_wmem", "4096\t131072\t4194304\n");
        root.write("proc/sys/net/core/netdev_max_backlog", "4096\n");
        root.write("proc/sys/net/core/somaxconn", "1024\n");
        root
    }

    fn sysctl(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    #[test]
    fn reads_every_fact_of_a_raspberry_pi_4() {
        let root = raspberry_pi_4();
        let expected = Facts {
            model: Some("Raspberry Pi 4 Model B Rev 1.4".into()),
            uptime_secs: Some(12345.67),
            load: Some([0.52, 0.58, 0.59]),
            mem_total_kib: Some(3884484),
            mem_available_kib: Some(3452768),
            temp_millic: Some(48686),
            throttled: Some(0x50005),
            cpu_freq_khz: Some(1500000),
            sysctls: vec![
                sysctl("net.core.rmem_max", "4194304"),
                sysctl("net.core.wmem_max", "4194304"),
                sysctl("net.ipv4.tcp_rmem", "4096 131072 4194304"),
                sysctl("net.ipv4.tcp_wmem", "4096 131072 4194304"),
                sysctl("net.core.netdev_max_backlog", "4096"),
                sysctl("net.core.somaxconn", "1024"),
            ],
        };
        let mut probe = root.probe();
        assert_eq!(probe.read(0), expected);
        // The second read goes through the kept paths and agrees.
        assert_eq!(probe.read(0), expected);
    }

    #[test]
    fn an_empty_root_has_no_facts() {
        let root = FakeRoot::new("empty");
        let facts = root.probe().read(0);
        assert_eq!(facts, Facts::default());
        assert!(facts.sysctls.is_empty());
    }

    #[test]
    fn a_missing_root_has_no_facts() {
        let facts = HostProbe::new("/nonexistent/piworker-health".into()).read(3);
        assert_eq!(facts, Facts::default());
    }

    /// Writes `contents` to every file the probe reads.
    fn fill_every_file(root: &FakeRoot, contents: &[u8]) {
        let mut files = vec![
            "proc/device-tree/model".to_string(),
            "proc/uptime".into(),
            "proc/loadavg".into(),
            "proc/meminfo".into(),
            "sys/class/thermal/thermal_zone0/type".into(),
            "sys/class/thermal/thermal_zone0/temp".into(),
            "sys/devices/platform/soc/soc:firmware/get_throttled".into(),
            "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq".into(),
            "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq".into(),
        ];
        files.extend(REPORTED_SYSCTLS.iter().map(|key| format!("proc/sys/{}", key.replace('.', "/"))));
        for file in files {
            root.write(&file, contents);
        }
    }

    #[test]
    fn junk_in_every_file_gives_no_facts() {
        let junk: [&[u8]; 6] =
            [b"", b"\xff\xfe\x00\x01\x80junk\xc3", b"\0\0\0\0", b" \t\n ", b"\x1b[31m\x07", &[0xAA; MAX_FILE + 10]];
        for contents in junk {
            let root = FakeRoot::new("junk");
            fill_every_file(&root, contents);
            assert_eq!(root.probe().read(0), Facts::default(), "contents {:?}", &contents[..contents.len().min(16)]);
        }
    }

    #[test]
    fn negative_huge_and_missing_values_give_no_facts() {
        let root = FakeRoot::new("garbage");
        root.write("proc/device-tree/model", "\0\0 \n");
        root.write("proc/uptime", "-5.0 10.0\n");
        root.write("proc/loadavg", "0.52 0.58\n");
        root.write("proc/meminfo", "MemTotal: 99999999999999999999999 kB\nMemAvailable: -5 kB\nMemFree: 10 kB\n");
        root.write("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n");
        root.write("sys/class/thermal/thermal_zone0/temp", "99999999999\n");
        root.write("sys/class/thermal/thermal_zone1/type", "soc-thermal\n");
        root.write("sys/class/thermal/thermal_zone1/temp", "-274000\n");
        root.write("sys/class/thermal/thermal_zone2/type", "acpitz\n");
        root.write("sys/class/thermal/thermal_zone2/temp", "");
        root.write("sys/class/thermal/thermal_zoneX/temp", "40000\n");
        root.write("sys/devices/platform/soc/soc:firmware/get_throttled", "0x1FFFFFFFF\n");
        root.write("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "-1500000\n");
        root.write("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq", "0\n");
        root.write("proc/sys/net/core/rmem_max", "");
        root.write("proc/sys/net/core/somaxconn", b"\xff\xfe");
        assert_eq!(root.probe().read(0), Facts::default());
    }

    #[test]
    fn odd_but_valid_values_are_read() {
        let root = FakeRoot::new("odd");
        root.write("proc/uptime", "0.00 0.00");
        root.write("proc/loadavg", "0.00 0.00 0.00");
        // An old kernel: no MemAvailable; fields in another order.
        root.write("proc/meminfo", "MemFree: 100 kB\nMemTotal: 1000 kB\n");
        root.write("sys/class/thermal/thermal_zone0/type", "cpu-thermal");
        root.write("sys/class/thermal/thermal_zone0/temp", "-5500");
        root.write("sys/devices/platform/soc/soc:firmware/get_throttled", "0x0");
        let facts = root.probe().read(0);
        assert_eq!(facts.uptime_secs, Some(0.0));
        assert_eq!(facts.load, Some([0.0; 3]));
        assert_eq!((facts.mem_total_kib, facts.mem_available_kib), (Some(1000), None));
        assert_eq!(facts.temp_millic, Some(-5500));
        assert_eq!(facts.throttled, Some(0));
    }

    #[test]
    fn the_cpu_zone_wins_and_zones_sort_by_number() {
        let root = FakeRoot::new("zones");
        for (zone, kind, temp) in [(10, "acpitz", "10000"), (2, "acpitz", "20000"), (11, "iwlwifi_1", "30000")] {
            root.write(&format!("sys/class/thermal/thermal_zone{zone}/type"), kind);
            root.write(&format!("sys/class/thermal/thermal_zone{zone}/temp"), temp);
        }
        let mut probe = root.probe();
        assert_eq!(probe.read(0).temp_millic, Some(20000), "first zone by number, not by name");

        root.write("sys/class/thermal/thermal_zone12/type", "x86_pkg_temp\n");
        root.write("sys/class/thermal/thermal_zone12/temp", "55000\n");
        root.write("sys/class/thermal/thermal_zone13/type", "cpu-thermal\n");
        root.write("sys/class/thermal/thermal_zone13/temp", "60000\n");
        assert_eq!(root.probe().read(0).temp_millic, Some(60000), "cpu-thermal before other CPU zones");
        root.remove("sys/class/thermal/thermal_zone13/temp");
        assert_eq!(root.probe().read(0).temp_millic, Some(55000));
    }

    #[test]
    fn a_kept_path_is_reread_and_searched_again_when_it_fails() {
        let root = raspberry_pi_4();
        let mut probe = root.probe();
        assert_eq!(probe.read(0).temp_millic, Some(48686));
        root.write("sys/class/thermal/thermal_zone1/temp", "50000\n");
        assert_eq!(probe.read(0).temp_millic, Some(50000));
        root.remove("sys/class/thermal/thermal_zone1/temp");
        assert_eq!(probe.read(0).temp_millic, Some(31000), "falls back to the other zone at once");
    }

    #[test]
    fn an_absence_is_kept_for_a_while() {
        let root = FakeRoot::new("absent");
        let mut probe = root.probe();
        assert_eq!(probe.read(0).temp_millic, None);
        root.write("sys/class/thermal/thermal_zone0/type", "cpu-thermal");
        root.write("sys/class/thermal/thermal_zone0/temp", "40000");
        assert_eq!(probe.read(0).temp_millic, None, "not searched again within a minute");
        assert_eq!(root.probe().read(0).temp_millic, Some(40000));
    }

    #[test]
    fn get_throttled_is_found_under_an_addressed_soc_node() {
        let root = FakeRoot::new("pi5");
        root.write("sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled", "0x50000\n");
        root.write("sys/devices/platform/soc@107c000000/other/uevent", "");
        assert_eq!(root.probe().read(0).throttled, Some(0x50000));
    }

    #[test]
    fn cpu_frequency_falls_back_from_the_first_cpu_to_cpu0() {
        let root = FakeRoot::new("cpufreq");
        root.write("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "600000");
        root.write("sys/devices/system/cpu/cpu2/cpufreq/cpuinfo_cur_freq", "1800000");
        root.write("sys/devices/system/cpu/cpu3/cpufreq/scaling_cur_freq", "1200000");
        root.write("sys/devices/system/cpu/cpu3/cpufreq/cpuinfo_cur_freq", "1800000");
        let mut probe = root.probe();
        assert_eq!(probe.read(3).cpu_freq_khz, Some(1200000), "scaling_cur_freq first");
        assert_eq!(probe.read(2).cpu_freq_khz, Some(1800000), "then cpuinfo_cur_freq");
        assert_eq!(probe.read(1).cpu_freq_khz, Some(600000), "then cpu0");
        assert_eq!(probe.read(0).cpu_freq_khz, Some(600000));
    }

    #[test]
    fn describes_throttle_bits() {
        assert_eq!(
            describe_throttled(0x50005),
            ["under-voltage now", "throttled now", "under-voltage has occurred", "throttling has occurred"]
        );
        assert!(describe_throttled(0).is_empty());
        assert!(describe_throttled(0xFFF0_FFF0).is_empty(), "unknown bits are not described");
        assert_eq!(describe_throttled(u32::MAX).len(), 8);
    }

    #[test]
    fn parses_vcgencmd_output() {
        assert_eq!(parse_vcgencmd_throttled("throttled=0x0\n"), Some(0));
        assert_eq!(parse_vcgencmd_throttled("throttled=0x50005"), Some(0x50005));
        for junk in ["", "throttled=", "throttled=0x", "throttled=0xZZ", "throttled=+5", "0x50005", "VCHI init failed"]
        {
            assert_eq!(parse_vcgencmd_throttled(junk), None, "{junk:?}");
        }
        assert_eq!(parse_vcgencmd_throttled("throttled=0x100000000"), None, "more than 32 bits");
    }

    /// A pseudo-random walk over text made of the tokens the parsers look for:
    /// whatever they are fed, they answer without panicking.
    #[test]
    fn parsers_never_panic() {
        let tokens =
            ["0", "9", "-", "+", ".", "x", "0x", "e", "inf", "NaN", ":", " ", "\t", "\n", "\0", "kB", "MemTotal", "é"];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(tokens[(state % tokens.len() as u64) as usize]);
            }
            let _ = (parse_model(&text), parse_uptime(&text), parse_loadavg(&text), parse_meminfo(&text));
            let _ = (parse_temp(&text), parse_khz(&text), parse_hex(&text), collapse_whitespace(&text));
            let _ = parse_vcgencmd_throttled(&text);
        }
    }

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn runs_a_command_and_kills_one_that_hangs() {
        let output = run_with_timeout(shell("echo throttled=0x50005"), VCGENCMD_TIMEOUT);
        assert_eq!(output.as_deref().and_then(parse_vcgencmd_throttled), Some(0x50005));
        assert_eq!(run_with_timeout(shell("echo throttled=0x5; exit 1"), VCGENCMD_TIMEOUT), None);
        let started = Instant::now();
        assert_eq!(run_with_timeout(shell("exec sleep 30"), Duration::from_millis(200)), None);
        assert!(started.elapsed() < Duration::from_secs(10), "the hanging command was killed");
    }

    #[test]
    fn the_poller_feeds_the_probe_when_sysfs_is_absent() {
        let cell = start_poller(|| shell("echo throttled=0x50005"), Duration::from_millis(50)).expect("thread starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while cell.load(Ordering::Relaxed) == NO_VALUE && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let root = FakeRoot::new("poller");
        assert_eq!(root.probe().with_vcgencmd(Arc::clone(&cell)).read(0).throttled, Some(0x50005));

        // The sysfs file, where readable, is preferred.
        root.write("sys/devices/platform/soc/soc:firmware/get_throttled", "0");
        assert_eq!(root.probe().with_vcgencmd(cell).read(0).throttled, Some(0));
    }

    #[test]
    fn no_value_yet_is_absent() {
        let root = FakeRoot::new("novalue");
        let cell = Arc::new(AtomicU64::new(NO_VALUE));
        assert_eq!(root.probe().with_vcgencmd(cell).read(0).throttled, None);
    }

    #[test]
    fn no_poller_when_sysfs_has_the_bits() {
        let root = raspberry_pi_4();
        assert!(spawn_vcgencmd_poller(&root.0, Duration::from_secs(5)).is_none());
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("piworker-no-such-program").is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_machine() {
        let facts = HostProbe::new("/".into()).read(0);
        println!("this machine: {facts:#?}");
        if let Some(bits) = facts.throttled {
            println!("throttled: {:?}", describe_throttled(bits));
        }
        assert!(facts.uptime_secs.is_some());
        assert!(facts.load.is_some());
        assert!(facts.mem_total_kib.is_some());
        assert!(facts.mem_available_kib.is_some());
    }
}
