//! Life's borders swapped directly between neighbouring workers (protocol
//! 1.5): the same boards as relaying them through the head and as one
//! worker alone, an older worker in the run (relay), a worker that may not
//! dial its neighbour (relay, said on stderr), and feeds that are wrong in
//! every way a worker must refuse, after which it goes on serving.

mod common;
#[path = "common/minor_proxy.rs"]
mod minor_proxy;

use common::*;
use minor_proxy::{MinorProxy, Mode};
use piworker::jobs::life::{self, Params, OP_LOAD, OP_PEERS, PART_PEERS_READY};
use piworker::jobs::life_swap::{encode_peers, SideSpec};
use piworker::jobs::JobKind;
use piworker::protocol::message::SUBMIT_HAS_INPUT;
use piworker::protocol::{ErrorMessage, Frame, FrameType, Submit, WireWrite};

/// `pisubmit life` on a random board; the JSON answer.
fn life_run(hosts: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json", "life", "--random", "0.3", "--seed", "5", "--generations", "90"];
    args.extend(extra);
    pisubmit(hosts, &args).json()
}

/// Torus and dead edges; 1, 2 and 3 workers with 1, 2 and 1 threads (uneven
/// strips); measured and fixed depths; checkpoints every 20 generations
/// (each a gather mid-run): peers, the head and one worker agree.
#[test]
fn peers_give_the_same_board_as_the_head_and_as_one_worker() {
    let pool: Vec<Worker> = ["1", "2", "1"].iter().map(|t| Worker::start(&["--threads", t])).collect();
    let one = hosts(&[&pool[0]]);
    for edges in ["--wrap", "--dead"] {
        for (size, depth) in [(("131", "67"), None), (("70", "61"), Some("3")), (("200", "9"), Some("1"))] {
            let mut extra = vec![edges, "--width", size.0, "--height", size.1, "--checkpoint-every", "20"];
            if let Some(k) = depth {
                extra.extend(["--exchange-every", k]);
            }
            let alone = life_run(&one, &[&extra[..], &["--borders", "head"]].concat());
            for n in 1..=3 {
                let hs = hosts(&pool[..n].iter().collect::<Vec<_>>());
                let what = format!("{n} workers, {extra:?}");
                let peers = life_run(&hs, &extra);
                let head = life_run(&hs, &[&extra[..], &["--borders", "head"]].concat());
                assert_eq!(peers["borders"], "peers", "{what}");
                assert_eq!(head["borders"], "head", "{what}");
                assert_eq!(peers["hash"], alone["hash"], "{what}: peers against one worker");
                assert_eq!(head["hash"], alone["hash"], "{what}: head against one worker");
                assert_eq!(peers["result"], alone["result"], "{what}");
                let strips = peers["strips"].as_array().expect("strips").len();
                assert_eq!(strips, n.min(size.1.parse().unwrap()), "{what}");
            }
        }
    }
}

/// A worker behind a proxy that says minor 4: the run relays through the
/// head (as `--borders peers` says on stderr) and gets the same board.
#[test]
fn an_older_worker_in_the_run_means_borders_through_the_head() {
    let (a, b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "2"]));
    let old = MinorProxy::start(&b.addr(), Mode::AsMinor(4));
    let extra = ["--width", "120", "--height", "50"];
    let want = life_run(&hosts(&[&a, &b]), &extra);
    assert_eq!(want["borders"], "peers");
    let mixed = format!("{},{}", a.addr(), old.addr());
    let mut args =
        vec!["--json", "life", "--random", "0.3", "--seed", "5", "--generations", "90", "--borders", "peers"];
    args.extend(extra);
    let run = pisubmit(&mixed, &args);
    let got = run.json();
    assert_eq!(got["borders"], "head", "{}", run.stderr);
    assert!(run.stderr.contains("before protocol 1.5; relaying borders through the head"), "{}", run.stderr);
    assert_eq!(got["hash"], want["hash"]);
    // Behind a proxy that only watches, the neighbours dial the proxy: peers.
    let watch = MinorProxy::start(&b.addr(), Mode::Watch);
    let via = life_run(&format!("{},{}", a.addr(), watch.addr()), &extra);
    assert_eq!((via["borders"].as_str(), &via["hash"]), (Some("peers"), &want["hash"]));
}

/// A worker whose --allow list does not hold its neighbour's address does
/// not dial it: the run says so and relays through the head, same board.
#[test]
fn a_neighbour_outside_the_allow_list_is_not_dialed_and_the_head_relays() {
    // The head (and each worker) reaches either address from 127.0.0.1,
    // so both let the head in; the first may not dial the second.
    let a = Worker::start_on("127.0.0.1:0", &["--threads", "1", "--allow", "127.0.0.1/32"]);
    let b = Worker::start_on("127.0.0.2:0", &["--threads", "1", "--allow", "127.0.0.0/8"]);
    let extra = ["--width", "100", "--height", "40"];
    let b_addr = format!("127.0.0.2:{}", b.port);
    let alone = life_run(&b_addr, &extra);
    let mut args = vec!["--json", "life", "--random", "0.3", "--seed", "5", "--generations", "90"];
    args.extend(extra);
    let run = pisubmit(&format!("{},{b_addr}", a.addr()), &args);
    let json = run.json();
    assert_eq!(json["borders"], "head", "{}", run.stderr);
    assert!(
        run.stderr.contains("could not swap borders")
            && run.stderr.contains("not in this worker's --allow list")
            && run.stderr.contains("relaying borders through the head"),
        "{}",
        run.stderr
    );
    assert_eq!(json["hash"], alone["hash"]);
}

fn submit(client: &mut RawClient, job: u32, kind: JobKind, params: Vec<u8>) {
    let s = Submit { kind: kind.to_u8(), flags: SUBMIT_HAS_INPUT, params };
    client.send(&s.encode(job).to_bytes());
}

fn data(client: &mut RawClient, job: u32, payload: &[u8]) {
    client.send(&Frame::new(FrameType::Data, job, payload.to_vec()).to_bytes());
}

/// The next Error frame's message (skipping other frames).
fn error_of(client: &mut RawClient) -> String {
    loop {
        let f = client.frame().expect("an answer");
        if f.header.frame_type == FrameType::Error {
            return ErrorMessage::decode(&f.payload).expect("error").message;
        }
    }
}

/// A strip of 64 x 4 with a dead bottom, told that its upper neighbour is
/// `peer` and that it takes that neighbour's rows with `token`.
fn strip_waiting_for(client: &mut RawClient, job: u32, token: [u8; 16], peer: &str) {
    let p = Params {
        width: 64,
        rows: 4,
        margin: 1,
        wrap_x: true,
        dead_top: false,
        dead_bottom: true,
        peers: true,
        generation: 0,
    };
    submit(client, job, JobKind::Life, p.encode());
    let mut load = vec![OP_LOAD];
    load.put_u32(0);
    life::put_rows(&mut load, &[1, 2, 3, 4]);
    data(client, job, &load);
    let up = SideSpec { receive: token, address: peer.into(), send: [9; 16] };
    let mut op = vec![OP_PEERS];
    op.extend(encode_peers(2, &up, &SideSpec::DEAD));
    data(client, job, &op);
    let ready = client.frame().expect("PeersReady");
    assert_eq!((ready.header.frame_type, ready.payload.as_slice()), (FrameType::Partial, &[PART_PEERS_READY][..]));
}

/// An unknown token, a cut generation, a part of a row, no rows, more rows
/// than the strip takes, a repeated generation, and a feed whose strip has
/// ended: each
/// a clear error, and the worker goes on serving.
#[test]
fn bad_feeds_are_refused_by_name_and_the_worker_goes_on() {
    let w = Worker::start(&["--threads", "1"]);
    let mut head = RawClient::handshake(&w);
    let token = [7u8; 16];
    strip_waiting_for(&mut head, 1, token, &w.addr());
    let mut feed = RawClient::handshake(&w);
    submit(&mut feed, 1, JobKind::LifeGhosts, vec![1u8; 16]);
    let msg = error_of(&mut feed);
    assert!(msg.contains("no life strip on this worker waits for token 0101"), "{msg}");
    // A feed with the right token: row counts and generations are checked.
    let rows = |generation: u64, words: usize| {
        let mut d = Vec::new();
        d.put_u64(generation);
        d.extend(std::iter::repeat_n(0u8, words * 8));
        d
    };
    let cases: [(u64, Vec<u8>, &str); 5] = [
        (0, rows(0, 0)[..5].to_vec(), "life-ghosts.generation"),
        (0, rows(0, 1)[..12].to_vec(), "not 1 to 2 whole rows"),
        (0, rows(0, 3), "not 1 to 2 whole rows"),
        (0, rows(0, 0), "not 1 to 2 whole rows"),
        (0, rows(0, 1), ""),
    ];
    for (job, (_, payload, want)) in (2u32..).zip(cases) {
        submit(&mut feed, job, JobKind::LifeGhosts, token.to_vec());
        data(&mut feed, job, &payload);
        if want.is_empty() {
            // Taken: a repeat of that generation is not.
            data(&mut feed, job, &rows(0, 1));
            let msg = error_of(&mut feed);
            assert!(msg.contains("run too far ahead"), "{msg}");
        } else {
            let msg = error_of(&mut feed);
            assert!(msg.contains(want), "want {want:?} in {msg}");
        }
    }
    // The strip ends (cancelled): its token leads nowhere, and a feed
    // opened before is told that its strip has gone.
    submit(&mut feed, 10, JobKind::LifeGhosts, token.to_vec());
    head.send(&Frame::new(FrameType::Cancel, 1, Vec::new()).to_bytes());
    assert!(error_of(&mut head).contains("cancelled"));
    data(&mut feed, 10, &rows(2, 1));
    let msg = error_of(&mut feed);
    assert!(msg.contains("has ended"), "{msg}");
    submit(&mut feed, 11, JobKind::LifeGhosts, token.to_vec());
    let msg = error_of(&mut feed);
    assert!(msg.contains("no life strip on this worker waits"), "{msg}");
    // The worker still runs a whole Life board.
    let json = life_run(&w.addr(), &["--width", "64", "--height", "64"]);
    assert_eq!(json["borders"], "peers");
}
