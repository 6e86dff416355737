//! pisubmit's flag table: the one place its options and subcommands are
//! defined. The parsers in this folder accept only what is here (they ask
//! `Scope::lookup`), and `--help`, `pisubmit COMMAND --help`, the man page
//! and the shell completions are rendered from it (`pisubmit --generate`).

use crate::flags::{Block, Command, Complete, Flag, Group, Program, Section, GENERATE_KINDS};

pub static PISUBMIT: Program = Program {
    name: "pisubmit",
    version: env!("CARGO_PKG_VERSION"),
    man_section: 1,
    manual: "User Commands",
    about: "pisubmit: run a job on every core of every piworker",
    usage: &[
        "[OPTIONS] JOB [JOB OPTIONS]",
        "[OPTIONS] life --generations G ...",
        "[OPTIONS] exec NAME --range A..B | --lines FILE | < tasks",
        "[OPTIONS] status|doctor|jobs|bench|hosts ...",
        "discover [--subnet CIDR]",
        "COMMAND --help",
    ],
    description: &[
        "The job is cut into pieces; each worker keeps a few in flight and splits each piece over its compute \
         threads. Answers are gathered and combined exactly, so they do not depend on how many hosts or threads \
         took part.",
        "The options below may come before or after the command's name. Workers that die, hang or drop off the \
         network mid-job lose their pieces to the others; the answer is the same bits as with no failure.",
        "pisubmit talks to piworker(8) daemons over TCP (port 31415 unless told otherwise); see \
         /usr/share/doc/piworker/README.md for setting up a cluster.",
    ],
    help_paragraphs: 2,
    global: &[OPTIONS],
    commands: &[
        LOOPSUM, PI, PRIMES, POWERS, REDUCE, ECHO, PING, FARM, LIFE, EXEC, STATUS, DISCOVER, DOCTOR, JOBS, BENCH, HOSTS,
    ],
    sections: &[JOB_LOG, EXIT_STATUS, ENVIRONMENT, EXAMPLES, SEE_ALSO],
};

/// The built-in jobs that `bench` can time (the others stream stdin or
/// keep state between rounds).
pub const BENCH_JOBS: &[&str] = &["loopsum", "pi", "primes", "powers", "reduce", "echo"];

const OPTIONS: Group = Group {
    title: "OPTIONS",
    about: "",
    flags: &[
        Flag {
            default: Some("$PISUBMIT_HOSTS"),
            complete: Complete::Hosts,
            ..Flag::valued(
                "hosts",
                "SPEC",
                "Workers: host[:port][/threads],... or @FILE (one host per line, # comments; re-read while a job \
                 runs, so hosts added join and hosts removed drain). The default port is 31415; /threads uses \
                 fewer of a worker's threads. Ranges expand: pi[1-4], 10.0.0.[11-14].",
            )
        },
        Flag::switch("json", "Print exactly one JSON object on stdout."),
        Flag::valued("timeout", "SECS", "Give up if the job has not finished by then."),
        Flag {
            default: Some("5"),
            ..Flag::valued(
                "connect-timeout",
                "SECS",
                "How long to keep trying while no worker is usable: at the start, and mid-job once all are \
                 lost. A worker that refuses or resets the connection, or is at its connection limit, is tried \
                 again with backoff until then; the others join when they answer, also mid-job.",
            )
        },
        Flag {
            default: Some("3"),
            ..Flag::valued(
                "heartbeat-timeout",
                "SECS",
                "A worker silent this long (hung, unplugged) is lost and its pieces go to the others.",
            )
        },
        Flag {
            default: Some("3"),
            ..Flag::valued("retries", "N", "A piece that failed on N different workers fails the job.")
        },
        Flag {
            default: Some("none"),
            ..Flag::valued(
                "piece-timeout",
                "SECS|N%",
                "Re-run a piece elsewhere when it takes longer than SECS, or than N% of the median piece time \
                 (e.g. 300%).",
            )
        },
        Flag {
            default: Some("$PISUBMIT_KEY, a file name"),
            complete: Complete::File,
            ..Flag::valued("key", "FILE", "The cluster key, when the workers run with --key.")
        },
        Flag {
            complete: Complete::File,
            ..Flag::valued(
                "joblog",
                "FILE",
                "Log each finished piece to FILE as it finishes: one tab-separated line with its host, start \
                 time, runtime, bytes in and out, outcome and result (see JOB LOG). With --resume, FILE is read \
                 first and the pieces it shows as done are not run again.",
            )
        },
        Flag::switch(
            "resume",
            "With --joblog: run only the pieces the log does not show as done, and combine them with the logged \
             results. The answer and every --output file are the same bytes as a run that was never stopped. A \
             log of a different command is refused, naming what differs. Life goes on from its --checkpoint FILE \
             instead (a job log is not needed there, and only records).",
        ),
        Flag::switch(
            "resume-failed",
            "Like --resume, but pieces logged as failed are run again (--resume stops at them).",
        ),
        Flag::switch("quiet", "No progress bar (it is drawn on stderr only when stderr is a terminal)."),
        Flag {
            default: Some("off"),
            ..Flag::valued(
                "serve",
                "[ADDR:]PORT",
                "Serve a live page for a wall display (status, primes, exec, farm, life only): each host's tile \
                 (temperature colour, marks, load, last hour), surveyed every 2 s (status: --every); a job's \
                 progress, rate, ETA, pieces per worker, answer (primes: count, largest; life: board). A PORT \
                 alone is 127.0.0.1 only; 0.0.0.0:PORT the network; 0 any free port (printed on stderr).",
            )
        },
        Flag {
            complete: Complete::OneOf(GENERATE_KINDS),
            ..Flag::valued(
                "generate",
                "KIND",
                "Print the man page (man) or a shell completion script (bash, zsh, fish) and exit; the package \
                 installs them.",
            )
        },
        Flag { short: Some('V'), ..Flag::switch("version", "Print the version and exit.") },
        Flag { short: Some('h'), ..Flag::switch("help", "Print this help (or a command's) and exit.") },
    ],
};

const LOOPSUM: Command = Command {
    name: "loopsum",
    synopsis: "[--t-range A..B] [--u-len L] [--c C]",
    about: "Sum of t*u*c for t in A..B, u in 0..L; rows are summed in order, then added exactly and rounded once.",
    groups: &[Group {
        title: "LOOPSUM OPTIONS",
        about: "",
        flags: &[
            Flag { default: Some("0..4001"), ..Flag::valued("t-range", "A..B", "The outer index t, B excluded.") },
            Flag { default: Some("4001"), ..Flag::valued("u-len", "L", "The inner index u runs over 0..L.") },
            Flag { default: Some("1.0"), ..Flag::valued("c", "C", "The constant factor.") },
        ],
    }],
};

const PI: Command = Command {
    name: "pi",
    synopsis: "--samples N [--seed S]",
    about: "Monte Carlo estimate of pi from N darts; the same N and seed give the same answer on any cluster.",
    groups: &[Group {
        title: "PI OPTIONS",
        about: "",
        flags: &[
            Flag::valued("samples", "N", "Darts to throw (required): 1000000, 1e6 or 10^6."),
            Flag { default: Some("1"), ..Flag::valued("seed", "S", "The random seed.") },
        ],
    }],
};

const PRIMES: Command = Command {
    name: "primes",
    synopsis: "--from A --to B [--output FILE]",
    about: "Count the primes in [A, B] (B <= 2^40) and find the largest.",
    groups: &[Group {
        title: "PRIMES OPTIONS",
        about: "",
        flags: &[
            Flag::valued("from", "A", "The first number (required)."),
            Flag::valued("to", "B", "The last number, included (required)."),
            Flag {
                complete: Complete::File,
                ..Flag::valued(
                    "output",
                    "FILE",
                    "Also write the primes, sorted, one per line; a FILE named *.npy gets them as a NumPy uint64 \
                     array (np.load), header patched with the count at the end.",
                )
            },
        ],
    }],
};

const POWERS: Command = Command {
    name: "powers",
    synopsis: "--nums X1,X2,... --exps P1,P2,...",
    about: "X^P for every number and exponent, one row per P.",
    groups: &[Group {
        title: "POWERS OPTIONS",
        about: "",
        flags: &[
            Flag::valued("nums", "X1,X2,...", "The numbers (required)."),
            Flag::valued("exps", "P1,P2,...", "The exponents (required)."),
        ],
    }],
};

const REDUCE: Command = Command {
    name: "reduce",
    synopsis: "--op sum|min|max|count --input FILE [--dtype TYPE]",
    about: "Fold a file of binary values (NumPy's tofile(): f64, i64, f32, i32 little-endian, or their be forms), \
            a NumPy .npy file (its header gives the dtype: f8 f4 i8 i4 i2 i1 u4 u2 u1, either byte order, any \
            shape, C or Fortran order), or text with one number per line. An f64 or text sum is the exact sum \
            rounded once (ties to even), whatever the order or the split; any NaN, or +inf with -inf, gives NaN, \
            else an infinity gives it. Text given as binary, binary given as text, or a size that is not whole \
            values is refused before anything is sent.",
    groups: &[Group {
        title: "REDUCE OPTIONS",
        about: "",
        flags: &[
            Flag {
                complete: Complete::OneOf(&["sum", "min", "max", "count"]),
                ..Flag::valued("op", "OP", "sum, min, max or count (required).")
            },
            Flag { complete: Complete::File, ..Flag::valued("input", "FILE", "The file to fold (required).") },
            Flag {
                default: Some("text"),
                complete: Complete::OneOf(&["f64", "f64be", "i64", "i64be", "f32", "f32be", "i32", "i32be", "text"]),
                ..Flag::valued(
                    "dtype",
                    "TYPE",
                    "How the file holds its values: f64, i64, f32, i32 (little-endian, as NumPy writes them on \
                     Pis and PCs), f64be, i64be, f32be, i32be (big-endian: what f64 and i64 meant in earlier pisubmit, see \
                     CHANGELOG.md), or text. A .npy file's header gives its own; a --dtype that disagrees is an error.",
                )
            },
        ],
    }],
};

const ECHO: Command = Command {
    name: "echo",
    synopsis: "--bytes N",
    about: "Send N bytes through the workers and check them.",
    groups: &[Group {
        title: "ECHO OPTIONS",
        about: "",
        flags: &[Flag::valued("bytes", "N", "How many bytes (required): 1000000, 1e6 or 10^6.")],
    }],
};

const PING: Command = Command {
    name: "ping",
    synopsis: "",
    about: "Version, hostname, architecture, threads and round trip of each worker.",
    groups: &[],
};

const FARM: Command = Command {
    name: "farm",
    synopsis: "[--ordered|--unordered] spin",
    about: "A task farm: one task per stdin line, read as the lines arrive, each run as soon as a core is free. \
            A spin task line is `MILLISECONDS [TEXT]`: it keeps one core busy that long and returns the line. \
            With --joblog and --resume, pipe the same input again: answered lines are skipped (their results are \
            not printed again), a different line is refused.",
    groups: &[Group {
        title: "FARM OPTIONS",
        about: "",
        flags: &[
            Flag::switch("ordered", "Print results in input order (the default)."),
            Flag::switch("unordered", "Print results as they finish."),
        ],
    }],
};

const LIFE: Command = Command {
    name: "life",
    synopsis: "--generations G (--input FILE | --random DENSITY [--seed S]) [OPTIONS]",
    about: "Conway's Game of Life on one board cut into strips over every worker (in proportion to threads); \
            each worker keeps its strip and splits it over its cores. The head checkpoints the board and \
            rebuilds a lost worker's strip from it on the hosts left. JSON: result = population, hash = board \
            SHA-256.",
    groups: &[
        Group {
            title: "THE BOARD",
            about: "",
            flags: &[
                Flag::valued("generations", "G", "Generations to run (required)."),
                Flag {
                    complete: Complete::File,
                    ..Flag::valued("input", "FILE", "Start from an RLE (Golly, LifeWiki) or .cells file, centred.")
                },
                Flag::valued("random", "DENSITY", "Start from random cells, each alive with this probability."),
                Flag { default: Some("1"), ..Flag::valued("seed", "S", "The seed of --random.") },
                Flag {
                    default: Some("the file's Golly grid, or twice the pattern and at least 512"),
                    ..Flag::valued("width", "W", "Board width in cells.")
                },
                Flag { default: Some("as --width"), ..Flag::valued("height", "H", "Board height in cells.") },
                Flag::switch("wrap", "Edges wrap around: a torus (the default, unless the file's grid says)."),
                Flag::switch("dead", "Cells beyond the edges are dead."),
            ],
        },
        Group {
            title: "RUNNING",
            about: "",
            flags: &[
                Flag {
                    default: Some("measured"),
                    ..Flag::valued(
                        "exchange-every",
                        "K",
                        "Generations between border exchanges (deeper ghost rows, fewer round trips).",
                    )
                },
                Flag {
                    default: Some("peers when every worker runs protocol 1.5"),
                    complete: Complete::OneOf(&["peers", "head"]),
                    ..Flag::valued(
                        "borders",
                        "ROUTE",
                        "Swap strip borders directly between neighbouring workers, or relay them through the head.",
                    )
                },
                Flag {
                    default: Some("10s"),
                    ..Flag::valued(
                        "checkpoint-every",
                        "N|SECSs|off",
                        "Keep the board on the head every N generations or SECS seconds (10s), or never (off).",
                    )
                },
                Flag::switch("no-checkpoint", "The same as --checkpoint-every off."),
                Flag {
                    complete: Complete::File,
                    ..Flag::valued(
                        "checkpoint",
                        "FILE",
                        "Write each checkpoint to FILE too, atomically (a new file, fsync, rename), with the \
                         generation and the command in #C lines: RLE that Golly opens, or for boards over \
                         4096x4096 cells a binary format (README.md, Life checkpoints). With --resume, the run \
                         goes on from the board in FILE (from generation 0 if there is none yet); a checkpoint \
                         of a different board, edges or start is refused, naming what differs.",
                    )
                },
            ],
        },
        Group {
            title: "OUTPUT",
            about: "",
            flags: &[
                Flag {
                    complete: Complete::File,
                    ..Flag::valued(
                        "output",
                        "FILE",
                        "Write the final board as RLE; a FILE named *.npy gets it as a NumPy uint8 array of 0 and \
                         1, shape (rows, columns).",
                    )
                },
                Flag { complete: Complete::Dir, ..Flag::valued("frames", "DIR", "Write PNG frames here.") },
                Flag {
                    default: Some("1"),
                    ..Flag::valued("every", "N", "Generations between frames (PNG and --show).")
                },
                Flag { default: Some("1"), ..Flag::valued("scale", "PX", "Pixels per cell in frames.") },
                Flag::switch("show", "Draw the board on stderr."),
                Flag { default: Some("50"), ..Flag::valued("delay", "MS", "Pause after each --show drawing.") },
            ],
        },
    ],
};

const EXEC: Command = Command {
    name: "exec",
    synopsis: "NAME [--range A..B [--pieces K] | --lines FILE [--block N]] [OPTIONS]",
    about: "Run a job program installed on the workers (see `pisubmit jobs`) once per piece, one core each: \
            pieces of the range A..B (B excluded), blocks of N lines of FILE on the program's stdin, or with \
            neither, one piece per stdin line as lines arrive (a task farm). The program sees PIW_JOB, PIW_PIECE, \
            PIW_START and PIW_END (the range, or line numbers from 1, end excluded). A piece whose program fails \
            runs on another worker, up to --retries. The workers cap the limits (piworker --exec-timeout and \
            --exec-memory). The report goes to stderr; --json needs --output. With --joblog a piece is logged \
            once its output is out; --resume goes on after the logged pieces (an --output file is cut back to \
            the pieces it holds whole; on stdout they are not printed again). A stdin farm resumes when the same \
            input is piped again: answered lines are skipped, a different line is refused.",
    groups: &[Group {
        title: "EXEC OPTIONS",
        about: "",
        flags: &[
            Flag::valued("range", "A..B", "Cut this range of integers into pieces."),
            Flag {
                default: Some("4 per thread"),
                ..Flag::valued("pieces", "K", "How many pieces --range is cut into.")
            },
            Flag {
                complete: Complete::File,
                ..Flag::valued("lines", "FILE", "Feed the lines of FILE to the program, --block lines a piece.")
            },
            Flag { default: Some("1"), ..Flag::valued("block", "N", "Lines per piece with --lines.") },
            Flag::switch("ordered", "Outputs in piece order (the default)."),
            Flag::switch("unordered", "Outputs as pieces finish."),
            Flag {
                complete: Complete::File,
                ..Flag::valued("output", "FILE", "Write the programs' output here instead of stdout.")
            },
            Flag::valued("time-limit", "SECS", "Longest one piece may run (the workers may allow less)."),
            Flag::valued(
                "memory-limit",
                "BYTES",
                "Address space one piece may use, like 256M (the workers may allow less).",
            ),
        ],
    }],
};

const STATUS: Command = Command {
    name: "status",
    synopsis: "[--watch] [--every SECS] [--wait SECS] [--serve [ADDR:]PORT]",
    about: "One coloured square per host (blue 40 C to red 80 C; grey: no sensor): name, temperature, load, \
            T/V/t marks for throttled, under-voltage, throttled since boot, X for a host that does not answer. \
            --json gives every fact (null where a host lacks it: no sensor is not 0 C).",
    groups: &[Group {
        title: "STATUS OPTIONS",
        about: "",
        flags: &[
            Flag::switch("watch", "Redraw every --every seconds until Ctrl-C."),
            Flag { default: Some("3"), ..Flag::valued("every", "SECS", "Seconds between redraws with --watch.") },
            Flag { default: Some("2"), ..Flag::valued("wait", "SECS", "How long a host has to answer.") },
        ],
    }],
};

const DISCOVER: Command = Command {
    name: "discover",
    synopsis: "[--subnet CIDR,...] [--port P|A-B] [--wait SECS]",
    about: "Find workers by a UDP broadcast on their port to each subnet; prints a hosts file, and warns about \
            workers of another version. Needs no --hosts.",
    groups: &[Group {
        title: "DISCOVER OPTIONS",
        about: "",
        flags: &[
            Flag {
                default: Some("every IPv4 interface's network"),
                repeats: true,
                ..Flag::valued("subnet", "CIDR,...", "Networks to probe, like 192.168.1.0/24.")
            },
            Flag {
                default: Some("31415"),
                repeats: true,
                ..Flag::valued("port", "P|A-B", "Ports to probe: one, a list, or a range of at most 1024.")
            },
            Flag { default: Some("1.5"), ..Flag::valued("wait", "SECS", "How long to listen for answers.") },
        ],
    }],
};

const DOCTOR: Command = Command {
    name: "doctor",
    synopsis: "[--wait SECS]",
    about: "Check every host for what breaks clusters, each with a fix: closed or filtered port, not a \
            piworker, version skew, clock skew, a name that resolves to loopback, listening on loopback only, \
            throttling, under-voltage, heat, sysctls below the package's, a worker listed twice, mixed \
            architectures (a note). Exit 1 if it finds any.",
    groups: &[Group {
        title: "DOCTOR OPTIONS",
        about: "",
        flags: &[Flag { default: Some("2"), ..Flag::valued("wait", "SECS", "How long a host has to answer.") }],
    }],
};

const JOBS: Command = Command {
    name: "jobs",
    synopsis: "",
    about: "The job programs on each worker with their SHA-256; flags hosts whose copy differs or is missing or \
            refused (exit 1).",
    groups: &[],
};

const BENCH: Command = Command {
    name: "bench",
    synopsis: "[--cores N,N,...] [--repeat R] [--svg FILE] [--predict [--link RATE] [--rtt TIME] \
               [--hosts-count N] [--cores-per-host C] [--core-speed X]] JOB [JOB OPTIONS]",
    about: "A scaling study: JOB (a built-in job with a fixed amount of work; not ping or farm) on 1, 2, 4, \
            ... cores (taken host by host), R runs each: wall time, speed-up, efficiency. With --predict, a \
            forecast instead: a small sample of JOB on one core, 32 MiB streamed to the workers to measure the \
            head's link, and the round trip, then the predicted wall time on 1 to N hosts, what limits it (cores, the head's \
            link, the head itself, round trips) and the number of hosts past which more stop helping (README, \
            What will my cluster do?). --predict also forecasts `life ...`, `exec PROG --range A..B` and `farm spin` (tasks on stdin).",
    groups: &[
        Group {
            title: "BENCH OPTIONS",
            about: "",
            flags: &[
                Flag {
                    default: Some("1, 2, 4, ... up to every core"),
                    ..Flag::valued("cores", "N,N,...", "Core counts to run on.")
                },
                Flag { default: Some("3"), ..Flag::valued("repeat", "R", "Runs per core count.") },
                Flag {
                    complete: Complete::File,
                    ..Flag::valued("svg", "FILE", "Draw the speed-up against the ideal line as an SVG chart.")
                },
            ],
        },
        PREDICT_OPTIONS,
    ],
};

const PREDICT_OPTIONS: Group = Group {
    title: "PREDICT OPTIONS",
    about: "Measured on the --hosts unless given; give them to predict a cluster you do not have yet.",
    flags: &[
        Flag::switch(
            "predict",
            "Predict instead of measuring every core count: wall time, speed-up, efficiency and the limit for \
             1 to N hosts, and the recommended number of hosts.",
        ),
        Flag {
            default: Some("measured: 32 MiB to every host at once"),
            ..Flag::valued("link", "RATE", "The head's link, each way: 100mbit, 1gbit, 940Mbit/s, 12.5MB/s.")
        },
        Flag {
            default: Some("measured (status round trip)"),
            ..Flag::valued("rtt", "TIME", "Round trip between head and a worker: 0.3ms, 300us, 0.0003 (seconds).")
        },
        Flag {
            default: Some("the hosts that answer"),
            ..Flag::valued("hosts-count", "N", "Predict for up to N hosts (at most 1024).")
        },
        Flag {
            default: Some("the first host's threads"),
            ..Flag::valued("cores-per-host", "C", "Cores (compute threads) of each host.")
        },
        Flag {
            default: Some("1"),
            ..Flag::valued(
                "core-speed",
                "X",
                "How fast a core of the predicted hosts is against the measured one (0.25: four times slower).",
            )
        },
    ],
};

const EXIT_STATUS: Section = Section {
    title: "EXIT STATUS",
    blocks: &[
        Block::Item("0", "done"),
        Block::Item(
            "1",
            "the job failed (bad data, a piece failed on --retries workers, no worker left, --timeout), or \
             doctor or jobs found problems",
        ),
        Block::Item("2", "bad command line, or no worker could be reached at the start"),
        Block::Item("130", "interrupted (SIGINT/SIGTERM); the workers cancel its pieces"),
    ],
    man_only: false,
};

const ENVIRONMENT: Section = Section {
    title: "ENVIRONMENT",
    blocks: &[
        Block::Item("PISUBMIT_HOSTS", "The workers when --hosts is not given."),
        Block::Item("PISUBMIT_KEY", "The cluster key's file when --key is not given."),
        Block::Item(
            "PISUBMIT_PACK_STDOUT",
            "0: ask no worker to LZ4-pack exec's stdout on the wire (by default workers of protocol 1.6 or later do).",
        ),
        Block::Item("RUST_LOG", "Log filter: error, warn (default), info, debug, trace; on stderr."),
    ],
    man_only: false,
};

const EXAMPLES: Section = Section {
    title: "EXAMPLES",
    blocks: &[Block::Verbatim(&[
        "pisubmit --hosts pi1,pi2,pi3,pi4 loopsum",
        "pisubmit --hosts @pi_list.txt primes --from 1 --to 1000000000",
        "PISUBMIT_HOSTS=127.0.0.1:31416 pisubmit pi --samples 1000000 --json",
        "pisubmit discover --subnet 192.168.1.0/24 > pi_list.txt",
        "pisubmit --hosts @pi_list.txt status --watch",
        "pisubmit --hosts @pi_list.txt bench --cores 1,2,4,8,16,32 --svg speedup.svg pi --samples 1e9",
        "pisubmit --hosts @pi_list.txt life --input acorn.rle --generations 5206",
        "pisubmit --hosts @pi_list.txt exec primes --range 1..10000000 --pieces 64",
        "pisubmit life --help",
    ])],
    man_only: false,
};

const SEE_ALSO: Section = Section {
    title: "SEE ALSO",
    blocks: &[Block::Text("piworker(8), /usr/share/doc/piworker/README.md")],
    man_only: true,
};

// Long enough for files of their own: the JOB LOG section, the hosts command.
mod hosts;
mod job_log;
use {hosts::HOSTS, job_log::JOB_LOG};
