/*
 * loopsum.c - native baseline for the "nested loop" compute benchmark.
 *
 * total = sum_{t=t0}^{t1-1} sum_{u=0}^{L-1} (double)(t*u) * c
 *
 * The exact evaluation order matters, because floating-point addition is not
 * associative and we want piworker's result to be comparable bit-for-bit:
 *   - t*u is computed in 64-bit integer arithmetic, then converted to double,
 *     then multiplied by c;
 *   - each row t is summed into a fresh 0.0 in increasing u order;
 *   - each thread adds its row sums, in increasing t order, to its own total;
 *   - the main thread adds the thread totals in thread order.
 * The t range is split into contiguous blocks, one per thread, with the first
 * (n % THREADS) threads getting one extra row.
 *
 * Build: cc -O2 -pthread -o loopsum loopsum.c
 * Usage: loopsum T0 T1 L C THREADS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct job {
    long long t0, t1;   /* this thread's rows: [t0, t1) */
    long long L;
    double c;
    int cpu;            /* CPU to pin to, or -1 for no pinning */
    double total;       /* result */
};

static void *worker(void *arg)
{
    struct job *j = arg;
    if (j->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(j->cpu, &set);
        /* Pinning is best effort: a failure (e.g. restricted cpuset) must not
         * change the result, only the timing, so we just warn. */
        int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        if (rc != 0)
            fprintf(stderr, "loopsum: warning: pin to cpu %d failed: %s\n",
                    j->cpu, strerror(rc));
    }
    double total = 0.0;
    for (long long t = j->t0; t < j->t1; t++) {
        double row = 0.0;
        for (long long u = 0; u < j->L; u++)
            row += (double)(t * u) * j->c;
        total += row;
    }
    j->total = total;
    return NULL;
}

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "loopsum: %s\n", msg);
    fprintf(stderr,
            "usage: loopsum T0 T1 L C THREADS\n"
            "  T0, T1   row range [T0, T1), integers, T0 <= T1\n"
            "  L        columns per row, integer >= 0\n"
            "  C        multiplier, a double\n"
            "  THREADS  number of threads, 1..1024\n");
    exit(2);
}

static long long parse_ll(const char *s, const char *name)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0') {
        fprintf(stderr, "loopsum: %s: not an integer: '%s'\n", name, s);
        usage(NULL);
    }
    return v;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 6)
        usage("expected 5 arguments");
    long long t0 = parse_ll(argv[1], "T0");
    long long t1 = parse_ll(argv[2], "T1");
    long long L = parse_ll(argv[3], "L");
    char *end;
    errno = 0;
    double c = strtod(argv[4], &end);
    if (errno || end == argv[4] || *end != '\0')
        usage("C: not a number");
    long long nthreads = parse_ll(argv[5], "THREADS");
    if (t1 < t0)
        usage("T1 must be >= T0");
    if (L < 0)
        usage("L must be >= 0");
    if (nthreads < 1 || nthreads > 1024)
        usage("THREADS must be in 1..1024");
    /* Signed overflow of t*u is undefined behaviour in C, so refuse inputs
     * where the largest |t*u| does not fit in 64 bits (and where t1 - t0
     * itself would overflow) rather than print a meaningless number. */
    long long n_rows, tmax = (llabs(t0) > llabs(t1)) ? t0 : t1, prod;
    if (t0 == LLONG_MIN || t1 == LLONG_MIN ||
        __builtin_sub_overflow(t1, t0, &n_rows) ||
        (L > 0 && __builtin_mul_overflow(tmax, L - 1, &prod)))
        usage("T0/T1/L too large: t*u would overflow 64-bit integers");

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int pin = ncpu > 0 && nthreads <= ncpu;

    struct job *jobs = calloc(nthreads, sizeof *jobs);
    pthread_t *tids = calloc(nthreads, sizeof *tids);
    if (!jobs || !tids) {
        perror("loopsum: calloc");
        return 1;
    }

    /* Contiguous blocks; the first `rem` threads get one extra row. */
    long long n = n_rows, base = n / nthreads, rem = n % nthreads;
    long long next = t0;
    for (long long i = 0; i < nthreads; i++) {
        long long len = base + (i < rem ? 1 : 0);
        jobs[i] = (struct job){ .t0 = next, .t1 = next + len, .L = L,
                                .c = c, .cpu = pin ? (int)i : -1 };
        next += len;
    }

    double start = now_ms();
    for (long long i = 0; i < nthreads; i++) {
        int rc = pthread_create(&tids[i], NULL, worker, &jobs[i]);
        if (rc != 0) {
            fprintf(stderr, "loopsum: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    double total = 0.0;
    for (long long i = 0; i < nthreads; i++) {
        pthread_join(tids[i], NULL);
        total += jobs[i].total;   /* fixed order: thread 0, 1, 2, ... */
    }
    double wall = now_ms() - start;

    printf("total=%.17g wall_ms=%.3f\n", total, wall);
    free(jobs);
    free(tids);
    return 0;
}
