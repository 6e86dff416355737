/*
 * pingpong.c - raw TCP-over-loopback baselines for piworker's echo job.
 *
 *   pingpong server PORT              echo server on 127.0.0.1:PORT
 *   pingpong client PORT SIZE COUNT   COUNT sequential round trips of SIZE bytes
 *   pingpong bulk   PORT MBYTES       stream MBYTES MiB through the echo server
 *   pingpong sink   PORT              server that reads each connection to EOF
 *                                     and answers with the byte count (8 bytes)
 *   pingpong send   PORT FILE         copy FILE to the sink one way, check the
 *                                     count it answers
 *
 * The client/bulk numbers are the floor that piworker's latency and
 * throughput are compared against: no framing, no runtime, just syscalls.
 * Only 127.0.0.1 is ever used.
 *
 * Build: cc -O2 -pthread -o pingpong pingpong.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)
#define MAX_SIZE (64LL * 1024 * 1024)     /* client message size cap */
#define MAX_COUNT 100000000LL             /* client round-trip cap */
#define MAX_MBYTES 1048576LL              /* bulk cap: 1 TiB */

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "pingpong: %s\n", msg);
    fprintf(stderr,
            "usage: pingpong server PORT\n"
            "       pingpong client PORT SIZE COUNT\n"
            "       pingpong bulk   PORT MBYTES\n"
            "       pingpong sink   PORT\n"
            "       pingpong send   PORT FILE\n"
            "  PORT 1..65535 on 127.0.0.1; SIZE 1..%lld bytes; "
            "COUNT 1..%lld; MBYTES 1..%lld (MiB)\n",
            MAX_SIZE, MAX_COUNT, MAX_MBYTES);
    exit(2);
}

static long long parse_ll(const char *s, const char *name, long long lo,
                          long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "pingpong: bad %s '%s' (want %lld..%lld)\n", name, s,
                lo, hi);
        usage(NULL);
    }
    return v;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        die("setsockopt TCP_NODELAY");
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* Write all n bytes, retrying short writes and EINTR. 0 on success. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read exactly n bytes. 0 on success, -1 on error or early EOF. */
static int read_all(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = ECONNRESET;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int connect_loopback(int port)
{
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect 127.0.0.1");
    set_nodelay(fd);
    return fd;
}

/* ---- server ------------------------------------------------------------ */

static int listen_loopback(int port)
{
    struct sockaddr_in a = loopback(port);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0)
        die("socket");
    int one = 1;
    /* SO_REUSEADDR so restarting between benchmark runs does not hit
     * TIME_WAIT "address in use". */
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die("setsockopt SO_REUSEADDR");
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind 127.0.0.1");
    if (listen(lfd, 16) < 0)
        die("listen");
    return lfd;
}

/* The next connection; a signal or a client that gave up is not an error. */
static int accept_next(int lfd)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0)
            return fd;
        if (errno != EINTR && errno != ECONNABORTED)
            die("accept");
    }
}

static _Noreturn void run_server(int port)
{
    int lfd = listen_loopback(port);
    fprintf(stderr, "pingpong: echo server on 127.0.0.1:%d\n", port);

    char *buf = malloc(BUF_SIZE);
    if (!buf)
        die("malloc");
    /* Runs until killed; one connection at a time keeps the baseline
     * single-threaded and free of scheduling noise. */
    for (;;) {
        int fd = accept_next(lfd);
        set_nodelay(fd);
        for (;;) {
            ssize_t r = read(fd, buf, BUF_SIZE);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;                  /* EOF or error: drop this client */
            if (write_all(fd, buf, (size_t)r) < 0)
                break;
        }
        close(fd);
    }
}

/* ---- client: latency ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run_client(int port, long long size, long long count)
{
    char *out = malloc((size_t)size), *in = malloc((size_t)size);
    double *rtt = malloc((size_t)count * sizeof *rtt);
    if (!out || !in || !rtt)
        die("malloc");
    for (long long i = 0; i < size; i++)
        out[i] = (char)(i * 31 + 7);

    int fd = connect_loopback(port);
    for (long long i = 0; i < count; i++) {
        double t = now_us();
        if (write_all(fd, out, (size_t)size) < 0)
            die("write");
        if (read_all(fd, in, (size_t)size) < 0)
            die("read");
        rtt[i] = now_us() - t;
    }
    close(fd);
    /* Check the echo once, outside the timed loop. */
    if (memcmp(out, in, (size_t)size) != 0) {
        fprintf(stderr, "pingpong: echo mismatch\n");
        return 1;
    }

    double sum = 0;
    for (long long i = 0; i < count; i++)
        sum += rtt[i];
    qsort(rtt, (size_t)count, sizeof *rtt, cmp_double);
    double median = count % 2 ? rtt[count / 2]
                              : (rtt[count / 2 - 1] + rtt[count / 2]) / 2;
    printf("rtt_us_median=%.3f rtt_us_mean=%.3f count=%lld size=%lld\n",
           median, sum / count, count, size);
    return 0;
}

/* ---- bulk: throughput ---------------------------------------------------- */

struct writer {
    int fd;
    long long total;
};

/* Writer thread: the main thread reads concurrently, otherwise both sides'
 * socket buffers fill and the echo deadlocks. */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char *buf = malloc(BUF_SIZE);
    if (!buf)
        die("malloc");
    memset(buf, 'x', BUF_SIZE);
    for (long long left = w->total; left > 0;) {
        size_t n = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
        if (write_all(w->fd, buf, n) < 0)
            die("write");
        left -= (long long)n;
    }
    /* Half-close so the server sees EOF once it has echoed everything. */
    shutdown(w->fd, SHUT_WR);
    free(buf);
    return NULL;
}

static int run_bulk(int port, long long mbytes)
{
    struct writer w = { .fd = connect_loopback(port),
                        .total = mbytes * 1024 * 1024 };
    char *buf = malloc(BUF_SIZE);
    if (!buf)
        die("malloc");

    double t = now_us();
    pthread_t tid;
    int rc = pthread_create(&tid, NULL, writer_main, &w);
    if (rc != 0) {
        fprintf(stderr, "pingpong: pthread_create: %s\n", strerror(rc));
        return 1;
    }
    long long got = 0;
    while (got < w.total) {
        ssize_t r = read(w.fd, buf, BUF_SIZE);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("read");
        if (r == 0) {
            fprintf(stderr, "pingpong: early EOF after %lld of %lld bytes\n",
                    got, w.total);
            return 1;
        }
        got += r;
    }
    double secs = (now_us() - t) / 1e6;
    pthread_join(tid, NULL);
    close(w.fd);
    printf("bulk_mib_per_s=%.1f\n", (double)mbytes / secs);
    return 0;
}

/* ---- one-way copy: the floor under a reduce ------------------------------ */

/* Reads each connection to EOF and answers with the number of bytes it got,
 * big-endian: the shape of a reduce (data one way, a small answer back). */
static _Noreturn void run_sink(int port)
{
    int lfd = listen_loopback(port);
    fprintf(stderr, "pingpong: sink on 127.0.0.1:%d\n", port);
    char *buf = malloc(BUF_SIZE);
    if (!buf)
        die("malloc");
    for (;;) {
        int fd = accept_next(lfd);
        unsigned long long got = 0;
        for (;;) {
            ssize_t r = read(fd, buf, BUF_SIZE);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (unsigned long long)r;
        }
        unsigned char answer[8];
        for (int i = 0; i < 8; i++)
            answer[i] = (unsigned char)(got >> (56 - 8 * i));
        write_all(fd, (const char *)answer, sizeof answer);
        close(fd);
    }
}

/* Copies FILE to the sink with plain read()/write() of BUF_SIZE, as a
 * simple tool would, and checks the count the sink answers. */
static int run_send(int port, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path);
    char *buf = malloc(BUF_SIZE);
    if (!buf)
        die("malloc");
    double t = now_us();
    int fd = connect_loopback(port);
    unsigned long long sent = 0;
    size_t n;
    while ((n = fread(buf, 1, BUF_SIZE, f)) > 0) {
        if (write_all(fd, buf, n) < 0)
            die("write");
        sent += n;
    }
    if (ferror(f))
        die(path);
    shutdown(fd, SHUT_WR);
    unsigned char answer[8];
    if (read_all(fd, (char *)answer, sizeof answer) < 0)
        die("read answer");
    double secs = (now_us() - t) / 1e6;
    unsigned long long got = 0;
    for (int i = 0; i < 8; i++)
        got = got << 8 | answer[i];
    if (got != sent) {
        fprintf(stderr, "pingpong: sink got %llu of %llu bytes\n", got, sent);
        return 1;
    }
    printf("send_mib_per_s=%.1f bytes=%llu\n", (double)sent / 1048576.0 / secs, sent);
    fclose(f);
    close(fd);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    /* A closed peer should give EPIPE from write(), not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 3)
        usage("missing mode or PORT");
    int port = (int)parse_ll(argv[2], "PORT", 1, 65535);
    if (strcmp(argv[1], "server") == 0 && argc == 3)
        run_server(port);
    if (strcmp(argv[1], "client") == 0 && argc == 5)
        return run_client(port, parse_ll(argv[3], "SIZE", 1, MAX_SIZE),
                          parse_ll(argv[4], "COUNT", 1, MAX_COUNT));
    if (strcmp(argv[1], "bulk") == 0 && argc == 4)
        return run_bulk(port, parse_ll(argv[3], "MBYTES", 1, MAX_MBYTES));
    if (strcmp(argv[1], "sink") == 0 && argc == 3)
        run_sink(port);
    if (strcmp(argv[1], "send") == 0 && argc == 4)
        return run_send(port, argv[3]);
    usage("unknown mode or wrong number of arguments");
}
