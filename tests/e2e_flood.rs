//! A noisy neighbour cannot lock a head out: 3,000 idle connections and
//! 100 that send a byte every half second, from the head's own address and
//! as many from another, each reopened as soon as the worker drops it,
//! while pisubmit gets right answers; the worker's memory stays under a
//! bound derived from its caps (docs/SECURITY.md, "Connection floods").

mod common;
#[path = "common/flood.rs"]
mod flood;

use common::{hosts, key_file, pisubmit, temp_dir, Worker, PIWORKER};
use flood::{raise_fd_limit, Flood};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const IDLE: usize = 3000;
const TRICKLING: usize = 100;

#[test]
fn a_head_gets_right_answers_through_a_flood_from_its_own_and_another_address() {
    flood_while_a_head_works(&[], &[]);
}

/// The same with the cluster key: the head's handshake takes one more
/// round trip (Welcome, then Auth) while the flood goes on.
#[test]
fn a_head_with_the_cluster_key_gets_through_a_flood_too() {
    let dir = temp_dir("flood-key");
    let key = key_file(&dir, "key", "flood-test-cluster-key-0123456789abcdef", 0o600);
    let key = key.to_str().unwrap();
    flood_while_a_head_works(&["--key", key], &["--key", key]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One flood at a time: two would share this process's descriptors and
/// the machine's cores.
static ONE_FLOOD: Mutex<()> = Mutex::new(());

fn flood_while_a_head_works(worker_args: &[&str], pisubmit_args: &[&str]) {
    let _one = ONE_FLOOD.lock().unwrap_or_else(|e| e.into_inner());
    // Two floods and their margin; the worker raises its own limit.
    let limit = raise_fd_limit(4 * (IDLE + TRICKLING) as u64);
    assert!(limit as usize >= 2 * (IDLE + TRICKLING) + 200, "the open-file limit ({limit}) is too low for this test");
    let mut cmd = Command::new(PIWORKER);
    // Default caps: they are what is claimed. Info, not debug: a log line
    // per connection would be most of the work.
    cmd.args(["--listen", "127.0.0.1:0", "--threads", "1"]).args(worker_args).env("RUST_LOG", "info");
    let w = Worker::spawn(cmd);
    let idle_kib = w.status_kib("VmRSS");
    let to = SocketAddrV4::new(Ipv4Addr::LOCALHOST, w.port);
    let floods = [
        Flood::start(Ipv4Addr::new(127, 0, 0, 1), to, IDLE, TRICKLING),
        Flood::start(Ipv4Addr::new(127, 0, 0, 2), to, IDLE, TRICKLING),
    ];
    // Every flood connection has been opened at least once (bounded).
    let end = Instant::now() + Duration::from_secs(120);
    while floods.iter().any(|f| f.opened() < (IDLE + TRICKLING) as u64) {
        assert!(Instant::now() < end, "the floods could not open their connections");
        std::thread::sleep(Duration::from_millis(100));
    }
    for round in 0..3 {
        let started = Instant::now();
        let args: Vec<&str> =
            pisubmit_args.iter().copied().chain(["--json", "--connect-timeout", "30", "loopsum"]).collect();
        let run = pisubmit(&hosts(&[&w]), &args);
        assert_eq!(run.json()["result"], 64032004000000i64, "round {round}: {}", run.stderr);
        eprintln!("round {round}: right answer in {:?}; pisubmit said: {}", started.elapsed(), run.stderr.trim());
    }
    let hwm_kib = w.status_kib("VmHWM");
    let opened: Vec<u64> = floods.iter().map(Flood::opened).collect();
    let dropped: Vec<u64> = floods.iter().map(Flood::dropped).collect();
    drop(floods);
    let log = w.log();
    eprintln!("flood: opened {opened:?}, dropped by the worker {dropped:?}; worker RSS {idle_kib} KiB idle, peak {hwm_kib} KiB");
    // The flood was really turned away by the admission rules.
    assert!(dropped.iter().all(|&d| d > 0), "the worker dropped nothing: {log}");
    // (One line per rule every 10 s, whichever address it was about.)
    assert!(log.contains("--max-unfinished-per-address 16 reached for 127.0.0."), "{log}");
    // The bound: what the worker had before the flood, plus its caps times
    // what a connection can cost before its handshake (8.5 KiB measured:
    // its read buffer and state), plus 8 MiB for the heads' connections,
    // their job and allocator slack.
    let bound_kib = idle_kib + 256 * 9 + 8 * 1024;
    assert!(hwm_kib < bound_kib, "peak RSS {hwm_kib} KiB is over the bound of {bound_kib} KiB:\n{log}");
}
