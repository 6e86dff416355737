//! A proxy between pisubmit and a real piworker that makes the worker look
//! like another minor version: a later one that appended fields to every
//! reply and result (`Mode::Grow`), a 1.0 one whose Hello and Welcome
//! end before the fields 1.1 added (`Mode::AsOneZero`), or one of an
//! earlier minor on both sides (`Mode::AsMinor`); or that only watches
//! (`Mode::Watch`), or spoils primes' gaps (`Mode::ZeroAGap`), exec's LZ4
//! blocks (`Mode::HugeLz4`) or life's packed strips (`Mode::HugeStrip`).
//!
//! It parses the frames going both ways. From the head it learns each
//! job's kind (from the Submit), because whether a Partial or Result is a
//! message with fields or raw data depends on the kind; from the worker it
//! rewrites what a later or earlier worker would send. It counts what it
//! changed, so a test can check that the proxy really did something.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Bytes a later minor appends: not zeros, so that a reader that took them
/// for an absent optional field (presence byte 0) would be caught.
pub const APPENDED: [u8; 8] = [0xa5, 0x01, 0xff, 0x7e, 0x00, 0x42, 0x99, 0x13];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Append `APPENDED` to every payload going to the head that is a
    /// message with fields: Welcome, Status, Error, every Result but spin's
    /// (its payload is the task's bytes, unchanged) and life's borders
    /// Partial. Raw data is left alone: Pong (the Ping's bytes), the
    /// primes, echo and exec Partials and life's strip rows.
    Grow,
    /// Cut the head's Hello and the worker's Welcome where a 1.0 peer's
    /// end (after `software`, after `max_frame`), with minor 0.
    AsOneZero,
    /// Set the minor of the head's Hello and the worker's Welcome to this
    /// one: each side sees a peer of that minor and sends what it would.
    AsMinor(u8),
    /// Change nothing; count what passes (`primes_partials`).
    Watch,
    /// Set the last byte of every primes gaps partial to 0: a zero gap.
    ZeroAGap,
    /// Make every LZ4 exec partial declare 4 GiB of stdout.
    HugeLz4,
    /// Make every LZ4 life PackedStrip declare 4 GiB of rows.
    HugeStrip,
}

/// Life's snapshot partials from the worker: Strip (raw rows) and
/// PackedStrip (1.7), frames and payload bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LifeSeen {
    pub strip_frames: usize,
    pub strip_bytes: usize,
    pub packed_frames: usize,
    pub packed_bytes: usize,
}

/// Exec traffic the proxy saw: Submits asking for packed stdout, and the
/// exec partials from the worker (frames whose first byte is 1, LZ4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecSeen {
    pub submits: usize,
    pub packed_submits: usize,
    pub frames: usize,
    pub lz4_frames: usize,
    pub bytes: usize,
}

/// Primes partials the proxy saw from the worker, by form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrimesSeen {
    pub gaps_frames: usize,
    pub gaps_bytes: usize,
    pub u64_frames: usize,
    pub u64_bytes: usize,
}

pub struct MinorProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// What was changed, by frame type name ("Welcome", "Result", ...).
    changed: Arc<Mutex<HashMap<&'static str, usize>>>,
    primes: Arc<Mutex<PrimesSeen>>,
    exec: Arc<Mutex<ExecSeen>>,
    life: Arc<Mutex<LifeSeen>>,
}

const SUBMIT: u8 = 0x10;
const HELLO: u8 = 0x01;
const WELCOME: u8 = 0x02;
const STATUS: u8 = 0x07;
const PARTIAL: u8 = 0x20;
const RESULT: u8 = 0x21;
const ERROR: u8 = 0x22;
const PRIMES: u8 = 3;
const SPIN: u8 = 7;
const LIFE: u8 = 8;
const LIFE_BORDERS: u8 = 1;
const LIFE_STRIP: u8 = 2;
const LIFE_PACKED_STRIP: u8 = 5;
/// PackedStrip's header before the packed rows: part, generation, first row, rows.
const PACKED_STRIP_HEAD: usize = 17;
const EXEC: u8 = 9;
const PACKED_STDOUT: u8 = 0x02;

impl MinorProxy {
    /// Listens on a loopback port and relays each connection to `worker`.
    pub fn start(worker: &str, mode: Mode) -> MinorProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let changed = Arc::new(Mutex::new(HashMap::new()));
        let primes = Arc::new(Mutex::new(PrimesSeen::default()));
        let (worker, stop2, changed2) = (worker.to_string(), Arc::clone(&stop), Arc::clone(&changed));
        let primes2 = Arc::clone(&primes);
        let exec = Arc::new(Mutex::new(ExecSeen::default()));
        let exec2 = Arc::clone(&exec);
        let life = Arc::new(Mutex::new(LifeSeen::default()));
        let life2 = Arc::clone(&life);
        std::thread::spawn(move || {
            for head in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(head) = head else { continue };
                let Ok(worker) = TcpStream::connect(&worker) else { continue };
                let seen = Seen { primes: Arc::clone(&primes2), exec: Arc::clone(&exec2), life: Arc::clone(&life2) };
                relay(head, worker, mode, Arc::clone(&changed2), seen);
            }
        });
        MinorProxy { port, stop, changed, primes, exec, life }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// How many frames of this type the proxy changed.
    pub fn changed(&self, frame_type: &str) -> usize {
        self.changed.lock().unwrap().get(frame_type).copied().unwrap_or(0)
    }

    /// The primes partials seen so far, by form (the first byte: 1 gaps,
    /// 0 u64s).
    pub fn primes_partials(&self) -> PrimesSeen {
        *self.primes.lock().unwrap()
    }

    /// The exec Submits and partials seen so far.
    pub fn exec_seen(&self) -> ExecSeen {
        *self.exec.lock().unwrap()
    }

    /// Life's snapshot partials seen so far, raw and packed.
    pub fn life_seen(&self) -> LifeSeen {
        *self.life.lock().unwrap()
    }
}

impl Drop for MinorProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr());
    }
}

type Kinds = Arc<Mutex<HashMap<u32, u8>>>;

/// What the proxy counts as it relays.
struct Seen {
    primes: Arc<Mutex<PrimesSeen>>,
    exec: Arc<Mutex<ExecSeen>>,
    life: Arc<Mutex<LifeSeen>>,
}

fn relay(
    head: TcpStream,
    worker: TcpStream,
    mode: Mode,
    changed: Arc<Mutex<HashMap<&'static str, usize>>>,
    seen: Seen,
) {
    let Seen { primes, exec, life } = seen;
    let up_exec = Arc::clone(&exec);
    // Every read is bounded: a stuck test ends its threads within a minute.
    for s in [&head, &worker] {
        let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
        let _ = s.set_nodelay(true);
    }
    let kinds: Kinds = Arc::new(Mutex::new(HashMap::new()));
    let (h_in, w_out) = (head.try_clone().unwrap(), worker.try_clone().unwrap());
    let (w_in, h_out) = (worker, head);
    let up_kinds = Arc::clone(&kinds);
    let up_changed = Arc::clone(&changed);
    std::thread::spawn(move || {
        pump(h_in, w_out, |t, job, payload| {
            if t == SUBMIT {
                if let Some(&kind) = payload.first() {
                    up_kinds.lock().unwrap().insert(job, kind);
                }
                if payload.first() == Some(&EXEC) {
                    let mut seen = up_exec.lock().unwrap();
                    seen.submits += 1;
                    seen.packed_submits += usize::from(payload.get(1).is_some_and(|f| f & PACKED_STDOUT != 0));
                }
            }
            if t == HELLO && mode == Mode::AsOneZero {
                cut_after_strings(payload, 1, 0);
                count(&up_changed, "Hello");
            }
            if let (HELLO, Mode::AsMinor(minor)) = (t, mode) {
                payload[1] = minor;
                count(&up_changed, "Hello");
            }
        })
    });
    std::thread::spawn(move || {
        pump(w_in, h_out, |t, job, payload| {
            let kind = kinds.lock().unwrap().get(&job).copied();
            if t == PARTIAL && kind == Some(PRIMES) {
                let mut seen = primes.lock().unwrap();
                if payload.first() == Some(&1) {
                    seen.gaps_frames += 1;
                    seen.gaps_bytes += payload.len();
                } else {
                    seen.u64_frames += 1;
                    seen.u64_bytes += payload.len();
                }
            }
            if t == PARTIAL && kind == Some(LIFE) {
                let mut seen = life.lock().unwrap();
                match payload.first() {
                    Some(&LIFE_STRIP) => {
                        (seen.strip_frames, seen.strip_bytes) =
                            (seen.strip_frames + 1, seen.strip_bytes + payload.len())
                    }
                    Some(&LIFE_PACKED_STRIP) => {
                        (seen.packed_frames, seen.packed_bytes) =
                            (seen.packed_frames + 1, seen.packed_bytes + payload.len())
                    }
                    _ => {}
                }
            }
            if t == PARTIAL && kind == Some(EXEC) {
                let mut seen = exec.lock().unwrap();
                seen.frames += 1;
                seen.lz4_frames += usize::from(payload.first() == Some(&1));
                seen.bytes += payload.len();
            }
            match mode {
                Mode::Grow => {
                    let grows = match t {
                        WELCOME | STATUS | ERROR => true,
                        RESULT => kind != Some(SPIN),
                        PARTIAL => kind == Some(LIFE) && payload.first() == Some(&LIFE_BORDERS),
                        _ => false,
                    };
                    if grows {
                        payload.extend_from_slice(&APPENDED);
                        count(&changed, name(t));
                    }
                }
                Mode::AsOneZero => {
                    if t == WELCOME {
                        // software, hostname, arch; then threads (2) and max_frame (4).
                        cut_after_strings(payload, 3, 6);
                        count(&changed, "Welcome");
                    }
                }
                Mode::AsMinor(minor) => {
                    if t == WELCOME {
                        payload[1] = minor;
                        count(&changed, "Welcome");
                    }
                }
                Mode::Watch => {}
                Mode::ZeroAGap => {
                    // A gaps partial of more than one prime: tag, first prime, gaps.
                    if t == PARTIAL && kind == Some(PRIMES) && payload.first() == Some(&1) && payload.len() > 9 {
                        *payload.last_mut().unwrap() = 0;
                        count(&changed, "Partial");
                    }
                }
                Mode::HugeStrip => {
                    let lz4 = payload.len() > PACKED_STRIP_HEAD + 5 && payload[PACKED_STRIP_HEAD] == 1;
                    if t == PARTIAL && kind == Some(LIFE) && payload.first() == Some(&LIFE_PACKED_STRIP) && lz4 {
                        payload[PACKED_STRIP_HEAD + 1..PACKED_STRIP_HEAD + 5].copy_from_slice(&u32::MAX.to_le_bytes());
                        count(&changed, "Partial");
                    }
                }
                Mode::HugeLz4 => {
                    if t == PARTIAL && kind == Some(EXEC) && payload.first() == Some(&1) && payload.len() > 5 {
                        payload[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
                        count(&changed, "Partial");
                    }
                }
            }
        })
    });
}

fn name(t: u8) -> &'static str {
    match t {
        WELCOME => "Welcome",
        STATUS => "Status",
        ERROR => "Error",
        RESULT => "Result",
        PARTIAL => "Partial",
        _ => "other",
    }
}

fn count(changed: &Mutex<HashMap<&'static str, usize>>, what: &'static str) {
    *changed.lock().unwrap().entry(what).or_default() += 1;
}

/// Makes a Hello or Welcome payload a 1.0 one: minor 0, and nothing after
/// `strings` strings (which follow major and minor) and `fixed` more bytes.
fn cut_after_strings(payload: &mut Vec<u8>, strings: usize, fixed: usize) {
    payload[1] = 0;
    let mut at = 2;
    for _ in 0..strings {
        at += 2 + u16::from_be_bytes([payload[at], payload[at + 1]]) as usize;
    }
    payload.truncate(at + fixed);
}

/// Copies frames from `from` to `to`, letting `edit` change each payload
/// (the length field follows), until either side closes.
fn pump(mut from: TcpStream, mut to: TcpStream, mut edit: impl FnMut(u8, u32, &mut Vec<u8>)) {
    let mut header = [0u8; 16];
    while from.read_exact(&mut header).is_ok() {
        let len = u32::from_be_bytes([header[12], header[13], header[14], header[15]]) as usize;
        let mut payload = vec![0u8; len];
        if from.read_exact(&mut payload).is_err() {
            break;
        }
        let job = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
        edit(header[5], job, &mut payload);
        header[12..16].copy_from_slice(&(payload.len() as u32).to_be_bytes());
        if to.write_all(&header).and_then(|_| to.write_all(&payload)).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
