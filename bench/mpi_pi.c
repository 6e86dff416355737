/* mpi_pi: Monte Carlo pi with MPI, the anchor for piworker's `pi` job
 * (bench/pi.sh).
 *
 *     mpicc -O2 -o mpi_pi bench/mpi_pi.c
 *     mpirun -np 2 ./mpi_pi N SEED
 *     # inside=<n> samples=<N> pi=<%.10f> wall_ms=<float>
 *
 * Dart i of stream SEED (i in [0, N)) is exactly src/jobs/pi.rs's:
 * r = splitmix64(SEED + i * 0x9e3779b97f4a7c15), x = r >> 32,
 * y = r & 0xffffffff, inside when x*x + y*y does not overflow 64 bits. So
 * the inside count equals piworker's for the same N and SEED, for any
 * number of ranks. Each rank counts a contiguous block of [0, N) (the first
 * N % size ranks get one more dart), and the counts are summed with
 * MPI_Reduce on rank 0. wall_ms runs from a barrier after MPI_Init to the
 * end of the reduce, on rank 0. */
#include <errno.h>
#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t count_inside(uint64_t seed, uint64_t i0, uint64_t i1)
{
    uint64_t inside = 0;
    for (uint64_t i = i0; i < i1; i++) {
        uint64_t r = splitmix64(seed + i * UINT64_C(0x9e3779b97f4a7c15));
        uint64_t x = r >> 32, y = r & UINT64_C(0xffffffff);
        uint64_t xx = x * x, s = xx + y * y;
        inside += s >= xx; /* no carry out of 64 bits */
    }
    return inside;
}

/* A whole decimal number in [0, 2^64) into *out, or 0 on error (with a
 * message on stderr if loud: only rank 0 speaks). */
static int parse_u64(const char *what, const char *text, uint64_t *out, int loud)
{
    char *end;
    if (text[0] < '0' || text[0] > '9') {
        if (loud)
            fprintf(stderr, "mpi_pi: %s must be a whole decimal number, not '%s'\n", what, text);
        return 0;
    }
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0') {
        if (loud)
            fprintf(stderr, "mpi_pi: %s must be a whole decimal number, not '%s'\n", what, text);
        return 0;
    }
    if (errno == ERANGE) {
        if (loud)
            fprintf(stderr, "mpi_pi: %s '%s' does not fit in 64 bits\n", what, text);
        return 0;
    }
    *out = (uint64_t)v;
    return 1;
}

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    uint64_t n = 0, seed = 0;
    int ok = argc == 3;
    if (!ok) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np RANKS %s N SEED\n"
                            "  throws darts 0..N-1 of stream SEED (as piworker's pi job) and prints\n"
                            "  inside=<n> samples=<N> pi=<estimate> wall_ms=<ms>\n",
                    argc > 0 ? argv[0] : "mpi_pi");
    } else {
        /* Every rank parses the same text, so all reach the same verdict. */
        ok = parse_u64("N", argv[1], &n, rank == 0) && parse_u64("SEED", argv[2], &seed, rank == 0);
        if (ok && n == 0) {
            if (rank == 0)
                fprintf(stderr, "mpi_pi: N must be at least 1\n");
            ok = 0;
        }
    }
    if (!ok) {
        MPI_Finalize();
        return 2;
    }

    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    uint64_t per = n / (uint64_t)size, extra = n % (uint64_t)size, r = (uint64_t)rank;
    uint64_t i0 = r * per + (r < extra ? r : extra);
    uint64_t i1 = i0 + per + (r < extra ? 1 : 0);
    uint64_t mine = count_inside(seed, i0, i1), total = 0;
    MPI_Reduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    double t1 = MPI_Wtime();

    if (rank == 0)
        printf("inside=%" PRIu64 " samples=%" PRIu64 " pi=%.10f wall_ms=%.3f\n", total, n,
               4.0 * (double)total / (double)n, (t1 - t0) * 1e3);
    MPI_Finalize();
    return 0;
}
