//! piworker's flag table: the one place its options are defined. The
//! parser (config.rs) accepts only what is here, and `--help`, the man
//! page and the completions are rendered from it (`piworker --generate`).

use crate::flags::{Block, Complete, Flag, Group, Program, Section, GENERATE_KINDS};

pub static PIWORKER: Program = Program {
    name: "piworker",
    version: env!("CARGO_PKG_VERSION"),
    man_section: 8,
    manual: "System Administration",
    about: "piworker: the compute daemon of a Raspberry Pi cluster",
    usage: &["[OPTIONS]"],
    description: &[
        "Serves length-framed binary jobs over TCP (see docs/PROTOCOL.md) on one event-loop thread and runs them \
         on one pinned compute thread per CPU in the process's affinity mask. Jobs come from pisubmit(1) on the \
         head node.",
        "Jobs are a closed set of typed kinds (loopsum, pi, primes, powers, reduce, echo, life), plus the job \
         programs an administrator installs (see JOB PROGRAMS): nothing received is ever run as a command.",
        "Installed from the Debian package it runs as the piworker.service systemd unit, as a transient \
         unprivileged user, with its options in /etc/default/piworker.",
    ],
    help_paragraphs: 1,
    global: &[OPTIONS, ACCESS, STATUS, LIMITS, MEMORY, OTHER],
    commands: &[],
    sections: &[JOB_PROGRAMS, ENVIRONMENT, EXIT_STATUS, FILES, EXAMPLES, SEE_ALSO],
};

const OPTIONS: Group = Group {
    title: "OPTIONS",
    about: "",
    flags: &[
        Flag {
            default: Some("0.0.0.0:31415"),
            ..Flag::valued(
                "listen",
                "ADDR:PORT",
                "Address to listen on: ADDR:PORT, HOST:PORT or :PORT for all IPv4 interfaces; [::]:31415 \
                 listens on IPv6 too.",
            )
        },
        Flag {
            default: Some(
                "one per CPU in the process's affinity mask, so taskset(1) and systemd's CPUAffinity= are honoured",
            ),
            ..Flag::valued(
                "threads",
                "N",
                "Compute threads, each pinned to its CPU; N may only be fewer than the CPUs allowed.",
            )
        },
        Flag {
            default: Some("16M"),
            ..Flag::valued(
                "max-frame",
                "BYTES",
                "Largest frame payload accepted, 4K to 4G; suffixes K, M, G (powers of 1024). Larger job input \
                 travels as several frames, so this limits memory per frame, not job size.",
            )
        },
        Flag {
            default: Some("10"),
            ..Flag::valued(
                "shutdown-grace",
                "SECS",
                "On SIGTERM or SIGINT, stop accepting connections and let running jobs finish for this long \
                 (0 to 3600 seconds) before cancelling them and handing their pieces back to the head, which \
                 runs them elsewhere; a second signal cancels them at once. Under systemd, keep it below the \
                 unit's TimeoutStopSec (30 s), or systemd kills the daemon first.",
            )
        },
    ],
};

const ACCESS: Group = Group {
    title: "ACCESS",
    about: "",
    flags: &[
        Flag {
            default: Some("loopback, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, link-local, fc00::/7"),
            ..Flag::valued(
                "allow",
                "CIDR,...",
                "Peers that may connect; others are closed before a byte is read. `any` allows all.",
            )
        },
        Flag {
            complete: Complete::File,
            ..Flag::valued(
                "key",
                "FILE",
                "Require the cluster key in FILE (HMAC-SHA256 challenge-response; the key never crosses the \
                 wire; no encryption). FILE must not be world-readable.",
            )
        },
        Flag::switch(
            "no-discovery",
            "Do not answer `pisubmit discover` (UDP probes on the --listen address and port; answers go only \
             to --allow peers, are never larger than the probe, and are capped at 200 a second).",
        ),
    ],
};

const STATUS: Group = Group {
    title: "STATUS",
    about: "What `pisubmit status` and `pisubmit doctor` are told, and what Prometheus scrapes.",
    flags: &[
        Flag {
            default: Some("/"),
            complete: Complete::Dir,
            ..Flag::valued(
                "host-root",
                "DIR",
                "Read /proc and /sys under DIR instead of / (for a container that mounts the host there, and for \
                 tests).",
            )
        },
        Flag {
            default: Some("off"),
            ..Flag::valued(
                "metrics",
                "ADDR:PORT",
                "Also answer `GET /metrics` over HTTP on ADDR:PORT in Prometheus' text format (temperature, \
                 throttling, clock, load, memory, jobs, busy seconds per compute thread, bytes, connections, \
                 refusals), from the same event loop. The --allow list applies (others are closed unread); metrics \
                 connections have their own cap of 16, apart from --max-connections (at the cap the oldest one \
                 still sending its request is dropped); a request must arrive whole within --handshake-timeout and \
                 be at most 8 KiB. --key does not apply (a scrape proves no key): bind where the Prometheus server \
                 can reach it (0.0.0.0:9415 on the LAN, with --allow as narrow as you like), or 127.0.0.1 behind a \
                 proxy.",
            )
        },
    ],
};

const LIMITS: Group = Group {
    title: "LIMITS",
    about: "Each is logged when it acts, at most once every 10 seconds per rule. piworker raises its soft \
            open-file limit to the hard one at start (the packaged unit sets LimitNOFILE=65536) and warns if that \
            is below --max-connections + --max-unfinished + 64. Counts are whole numbers of at least 1; SECS are \
            more than 0 and at most 86400.",
    flags: &[
        Flag {
            default: Some("1024"),
            ..Flag::valued(
                "max-connections",
                "N",
                "Connections that finished the handshake (Hello, and the key when --key is set), at once. Past it \
                 a newcomer gets a Busy error and is closed; pisubmit waits and tries again until its \
                 --connect-timeout. A finished connection is never dropped to make room.",
            )
        },
        Flag {
            default: Some("256"),
            ..Flag::valued(
                "max-unfinished",
                "N",
                "Connections still in their handshake, at once. When full, the oldest of them is dropped (with a \
                 Busy error) to make room for the newcomer, so idle or trickling connections cannot lock heads \
                 out. Each costs about 9 KiB.",
            )
        },
        Flag {
            default: Some("16"),
            ..Flag::valued(
                "max-unfinished-per-address",
                "N",
                "Of those, from one address (an IPv6 /64); past it that address's own oldest unfinished \
                 connection makes room.",
            )
        },
        Flag {
            default: Some("64"),
            ..Flag::valued(
                "max-jobs-per-connection",
                "N",
                "Jobs running per connection; past it the worker stops reading that connection.",
            )
        },
        Flag { default: Some("4096"), ..Flag::valued("max-jobs", "N", "Jobs running in all.") },
        Flag {
            default: Some("64G"),
            ..Flag::valued("max-job-input", "BYTES", "Input one job may stream; suffixes K, M, G.")
        },
        Flag {
            default: Some("5"),
            ..Flag::valued(
                "handshake-timeout",
                "SECS",
                "Time to complete Hello (and the key); an unfinished connection is closed after it.",
            )
        },
        Flag {
            default: Some("10"),
            ..Flag::valued(
                "frame-timeout",
                "SECS",
                "Time a frame may take to arrive, plus one second per MiB of it: slow senders are dropped.",
            )
        },
        Flag {
            default: Some("300"),
            ..Flag::valued("idle-timeout", "SECS", "Close connections with no job and no frame for this long.")
        },
        Flag {
            default: Some("/etc/piworker/jobs.d, then /usr/lib/piworker/jobs"),
            repeats: true,
            complete: Complete::Dir,
            ..Flag::valued(
                "job-dir",
                "DIR",
                "Where job programs are; repeatable, the first directory that has a name wins, and the first \
                 --job-dir replaces the defaults.",
            )
        },
        Flag {
            default: Some("3600"),
            ..Flag::valued(
                "exec-timeout",
                "SECS",
                "Longest a job program may run for one piece; a client may ask for less.",
            )
        },
        Flag {
            default: Some("1G"),
            ..Flag::valued(
                "exec-memory",
                "BYTES",
                "Address space a job program may use (RLIMIT_AS), at least 1M; a client may ask for less.",
            )
        },
    ],
};

const MEMORY: Group = Group {
    title: "MEMORY",
    about: "Checked before a job allocates: a job is priced from its parameters before anything is allocated, \
            and a refusal names the flag. Both take suffixes K, M, G and are at least 1M.",
    flags: &[
        Flag {
            default: Some("a quarter of --max-memory"),
            ..Flag::valued(
                "max-job-memory",
                "BYTES",
                "Most one job may allocate, counted as it is laid out (a life row is whole 64-bit words, plus \
                 ghost rows and a kernel buffer per thread's band).",
            )
        },
        Flag {
            default: Some("half of MemTotal, read under --host-root, at most 1G on a 32-bit build"),
            ..Flag::valued(
                "max-memory",
                "BYTES",
                "Most all running jobs together may hold; a job that does not fit in what the others leave is \
                 refused (try again later: it may fit then).",
            )
        },
    ],
};

const OTHER: Group = Group {
    title: "OTHER",
    about: "",
    flags: &[
        Flag { short: Some('V'), ..Flag::switch("version", "Print the version and exit.") },
        Flag { short: Some('h'), ..Flag::switch("help", "Print this help and exit.") },
        Flag {
            complete: Complete::OneOf(GENERATE_KINDS),
            ..Flag::valued(
                "generate",
                "KIND",
                "Print the man page (man) or a completion script (bash, zsh, fish) and exit; used to build the \
                 package.",
            )
        },
    ],
};

const JOB_PROGRAMS: Section = Section {
    title: "JOB PROGRAMS",
    blocks: &[
        Block::Text(
            "A client names a job program by its file name only (letters, digits, _ . -, no leading dot). Each \
             run checks the file again and refuses one that is not a regular executable file, is writable by \
             group or others, is in a directory writable by others, or is a symlink leading out of its directory.",
        ),
        Block::Text(
            "The program runs in its own session with a clean environment (PATH and PIW_JOB, PIW_PIECE, \
             PIW_START, PIW_END, PIW_THREADS), the piece's input on stdin and its stdout streamed back to the \
             client; its stderr is logged. It holds one compute thread, and is killed with its process group on \
             cancel, timeout or client loss.",
        ),
    ],
    man_only: false,
};

const ENVIRONMENT: Section = Section {
    title: "ENVIRONMENT",
    blocks: &[Block::Item(
        "RUST_LOG",
        "Log filter: error, warn, info (default), debug (each connection and job), trace. Logs go to standard \
         error; under systemd, to the journal.",
    )],
    man_only: false,
};

const EXIT_STATUS: Section = Section {
    title: "EXIT STATUS",
    blocks: &[
        Block::Item("0", "stopped by SIGTERM or SIGINT"),
        Block::Item("1", "could not start (port in use, no permission, ...)"),
        Block::Item("2", "bad command line"),
    ],
    man_only: false,
};

const FILES: Section = Section {
    title: "FILES",
    blocks: &[
        Block::Item("/etc/default/piworker", "PIWORKER_OPTS and RUST_LOG for the service."),
        Block::Item(
            "/usr/lib/sysctl.d/60-piworker.conf",
            "TCP buffer ceilings for gigabit Ethernet; override in /etc/sysctl.d/.",
        ),
        Block::Item("/etc/piworker/jobs.d, /usr/lib/piworker/jobs", "Job programs (see --job-dir)."),
    ],
    man_only: true,
};

const EXAMPLES: Section = Section {
    title: "EXAMPLES",
    blocks: &[Block::Verbatim(&[
        "sudo systemctl start piworker",
        "journalctl -u piworker",
        "ss -ltnp 'sport = :31415'     # who holds the port",
        "piworker --listen 127.0.0.1:31416 --threads 2 --key /etc/piworker/key",
        "piworker --metrics 0.0.0.0:9415              # on pi1, then from the head:",
        "curl -s http://pi1:9415/metrics | grep temperature",
    ])],
    man_only: false,
};

const SEE_ALSO: Section = Section {
    title: "SEE ALSO",
    blocks: &[Block::Text("pisubmit(1), systemd.exec(5), sysctl.d(5), taskset(1)")],
    man_only: true,
};
