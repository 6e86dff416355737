//! `pisubmit --help`.

pub const HELP: &str = "\
pisubmit: run a job on every core of every piworker

USAGE:
    pisubmit [--hosts SPEC] [--json] [--timeout SECS] JOB [JOB OPTIONS]
    pisubmit [--hosts SPEC] [--json] status|doctor|bench ...
    pisubmit [--hosts SPEC] [--json] life --generations G ...
    pisubmit [--hosts SPEC] exec NAME --range A..B | --lines FILE | < tasks
    pisubmit discover [--subnet CIDR]

The job is cut into pieces; each worker keeps a few in flight and splits
each piece over its compute threads. Answers are gathered and combined
exactly, so they do not depend on how many hosts or threads took part.

OPTIONS:
    --hosts SPEC          Workers: host[:port][/threads],...  or  @FILE
                          (one host per line, # comments). The default port
                          is 31415; /threads uses fewer of a worker's threads.
                          [default: $PISUBMIT_HOSTS]
    --json                Print exactly one JSON object on stdout
    --timeout SECS        Give up if the job has not finished by then
    --connect-timeout SECS  How long to keep trying while no worker is
                          usable: at the start, and mid-job once all are
                          lost. A worker that refuses or resets the
                          connection, or is at its connection limit, is
                          tried again with backoff until then [default: 5];
                          the others join when they answer, also mid-job
    --heartbeat-timeout SECS  A worker silent this long (hung, unplugged) is
                          lost and its pieces go to the others [default: 3]
    --retries N           A piece that failed on N different workers fails
                          the job [default: 3]
    --piece-timeout SECS|N%  Re-run a piece elsewhere when it takes longer
                          than SECS, or than N% of the median piece time
                          (e.g. 300%) [default: none]
    --key FILE            The cluster key, when the workers run with --key
                          [default: $PISUBMIT_KEY, a file name]
    --quiet               No progress bar (it is drawn on stderr only when
                          stderr is a terminal)
    -V, --version         Print the version and exit
    -h, --help            Print this help and exit

JOBS:
    loopsum [--t-range A..B] [--u-len L] [--c C]
                          Sum of t*u*c for t in A..B, u in 0..L
                          [defaults: 0..4001, 4001, 1.0]; rows are summed
                          in order, then added exactly and rounded once
    pi --samples N [--seed S]
                          Monte Carlo estimate of pi from N darts [seed: 1]
    primes --from A --to B [--output FILE]
                          Count the primes in [A, B] (B <= 2^40) and find the
                          largest; --output writes them, sorted, one per line
    powers --nums X1,X2,... --exps P1,P2,...
                          X^P for every number and exponent, one row per P
    reduce --op sum|min|max|count --input FILE [--dtype f64|i64|text]
                          Fold a file of big-endian 8-byte values, or of text
                          with one number per line [dtype: text]. An f64 or
                          text sum is the exact sum rounded once (ties to
                          even), whatever the order or the split; any NaN,
                          or +inf with -inf, gives NaN, else an inf gives it
    echo --bytes N        Send N bytes through the workers and check them
    ping                  Version, hostname, arch, threads and round trip
                          of each worker
    farm [--ordered|--unordered] spin
                          A task farm: one task per stdin line, read as the
                          lines arrive, each run as soon as a core is free.
                          A spin task line is `MILLISECONDS [TEXT]`: it keeps
                          one core busy that long and returns the line.
                          Results print in input order (--ordered, the
                          default) or as they finish (--unordered)

    life --generations G (--input FILE | --random DENSITY [--seed S])
         [--width W] [--height H] [--wrap|--dead] [--output FILE]
         [--frames DIR] [--every N] [--scale PX] [--show] [--delay MS]
         [--exchange-every K] [--checkpoint-every N|SECSs|off]
                          Conway's Game of Life on one board cut into strips
                          over every worker (in proportion to threads). The
                          start: an RLE (Golly, LifeWiki) or .cells file,
                          centred, or random cells [seed 1]. Size: W x H, or
                          the file's Golly grid (B3/S23:T512,512), or twice
                          the pattern and at least 512. Edges wrap (torus,
                          default) or are dead. Borders are exchanged every
                          K generations [measured]. The head checkpoints the
                          board [every 10s]; a lost worker's strip is rebuilt
                          from it on the hosts left. --output writes the final
                          board as RLE; --frames writes PNGs every N
                          generations [1]; --show draws the board on stderr.
                          JSON: result = population, hash = board SHA-256

    exec NAME [--range A..B [--pieces K] | --lines FILE [--block N]]
         [--ordered|--unordered] [--output FILE]
         [--time-limit SECS] [--memory-limit BYTES]
                          Run a job program installed on the workers (see
                          `pisubmit jobs`) once per piece, one core each:
                          pieces of the range A..B (B excluded; K pieces
                          [4 per thread]), blocks of N lines of FILE [1] on
                          the program's stdin, or with neither, one piece
                          per stdin line as lines arrive (a task farm). The
                          program sees PIW_JOB, PIW_PIECE, PIW_START and
                          PIW_END (the range, or line numbers from 1, end
                          excluded). Outputs in piece order [--ordered] or as
                          pieces finish. A piece whose program fails runs
                          on another worker, up to --retries. The workers
                          cap the limits (piworker --exec-timeout and
                          --exec-memory). The report goes to stderr;
                          --json needs --output

CLUSTER TOOLS:
    status [--watch] [--every SECS] [--wait SECS]
                          One coloured square per host (blue 40 C to red
                          80 C; grey: no sensor): name, temperature, load,
                          T/V/t marks for throttled, under-voltage, throttled
                          since boot, X for a host that does not answer.
                          --watch redraws every --every seconds [3] until
                          Ctrl-C; --json gives every fact (null where a host
                          lacks it: no sensor is not 0 C). --wait: how long
                          a host has to answer [2]
    discover [--subnet CIDR,...] [--port P|A-B] [--wait SECS]
                          Find workers by a UDP broadcast on their port
                          [31415] to each subnet (default: every IPv4
                          interface's network); prints a hosts file, and
                          warns about workers of another version
    doctor [--wait SECS]  Check every host for what breaks clusters, each
                          with a fix: closed or filtered port, not a
                          piworker, version skew, clock skew, a name that
                          resolves to loopback, listening on loopback only,
                          throttling, under-voltage, heat, sysctls below
                          the package's, a worker listed twice, mixed
                          architectures (a note). Exit 1 if it finds any
    jobs                  The job programs on each worker with their
                          SHA-256; flags hosts whose copy differs or is
                          missing or refused (exit 1)
    bench [--cores N,N,...] [--repeat R] [--svg FILE] JOB [JOB OPTIONS]
                          A scaling study: JOB on 1, 2, 4, ... cores (taken
                          host by host), R runs each [3]: wall time,
                          speed-up, efficiency; --svg draws the speed-up
                          against the ideal line

EXIT STATUS:
    0  done
    1  the job failed (bad data, a piece failed on --retries workers,
       no worker left, --timeout), or doctor found problems
    2  bad command line, or no worker could be reached at the start
    130  interrupted (SIGINT/SIGTERM); the workers cancel its pieces

Workers that die, hang or drop off the network mid-job lose their pieces
to the others; the answer is the same bits as with no failure.

EXAMPLES:
    pisubmit --hosts pi1,pi2,pi3,pi4 loopsum
    pisubmit --hosts @pi_list.txt primes --from 1 --to 1000000000
    PISUBMIT_HOSTS=127.0.0.1:31416 pisubmit --json pi --samples 1000000
    pisubmit discover --subnet 192.168.1.0/24 > pi_list.txt
    pisubmit --hosts @pi_list.txt status --watch
    pisubmit --hosts @pi_list.txt bench --cores 1,2,4,8,16,32 --svg speedup.svg pi --samples 1e9
    pisubmit --hosts @pi_list.txt life --input acorn.rle --generations 5206
    pisubmit --hosts @pi_list.txt exec primes --range 1..10000000 --pieces 64
";
