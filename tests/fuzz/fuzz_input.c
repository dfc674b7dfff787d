/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack fuzz harness for mcore_input (FUZZ-MULTI-1, with the clock
 * steps of FUZZ-MULTI-TIME-1): one core with one interface
 * (192.0.2.1/24), a static ARP entry for the peer 192.0.2.2, a UDP
 * socket bound to port 5000, a UDP socket connected to
 * 192.0.2.2:7, and (when TCP is available) a TCP listener on port 80,
 * bound to :: so that it takes IPv4 and IPv6 (TCP over IPv6).
 *
 * Input: a sequence of records
 *     u16 length (big-endian, capped at 1514) | u16 flags+advance | frame
 * where the low 15 bits of the second word are a clock advance in ms and
 * the top bit asks the harness to recompute the IPv4 header checksum and
 * the ICMP/UDP/TCP checksum first, so that mutants reach the deep parsers
 * (the checksum checks themselves are exercised by the records without it).
 * Each frame goes through mcore_input, then mcore_poll runs every timer
 * that is due. Received datagrams are echoed back through the send ring so
 * that hostile input also drives the output path. At the end the clock runs
 * past every lifetime and then the stack shuts down; a packet buffer still
 * held is reported as a leak (abort), as is any frame the stack sends that
 * is not well formed.
 *
 * Built two ways (tests/fuzz/tests.cmake): a libFuzzer target with
 * -DMOAT_FUZZ=ON (clang), and fuzz_input_replay, which every build's ctest
 * runs over tests/fuzz/corpus/fuzz_input (and over corpus directories that
 * have no harness of their own). Support code: fz.c.
 */
#include <stdlib.h>
#include <string.h>

#include "fz.h"

struct fzi {
    struct fz z;
    uint32_t h_udp, h_conn;
    struct moat_ring rx[2], tx[2];
};

static void fz_setup(struct fzi *s)
{
    struct fz *z = &s->z;
    fz_config(z);
    fz_start(z);
    s->h_udp = fz_sock(z, MOAT_SOCK_DGRAM, 5000, 0, 0, 0);
    s->h_conn = fz_sock(z, MOAT_SOCK_DGRAM, 5001, FZ_R_IP, 7, 0);
    if (!s->h_udp || !s->h_conn)
        fz_fail("udp sockets");
    fz_rings(z, s->h_udp, &s->rx[0], &s->tx[0]);
    fz_rings(z, s->h_conn, &s->rx[1], &s->tx[1]);
    /* 0 when TCP is absent */
    (void)fz_sock_af(z, MOAT_SOCK_STREAM, MOAT_AF_INET6, 80, 0, 0, 1);
}

/* Echo what arrived back out (bounded). */
static void fz_echo(struct fzi *z)
{
    for (unsigned k = 0; k < 2; k++)
        fz_echo_dgrams(&z->rx[k], &z->tx[k], k == 1);
}

static int fz_one(const uint8_t *data, size_t size)
{
    static struct fzi s;        /* static: the snapshot's address (fz.h) */
    if (!fz_restore(&s, sizeof s)) {
        fz_setup(&s);
        fz_snapshot(&s, sizeof s);
    }
    struct fz *z = &s.z;
    size_t off = 0;
    while (off + 4 <= size) {
        size_t len = rd16(data + off);
        uint16_t w = rd16(data + off + 2);
        uint64_t adv = (uint64_t)(w & 0x7fffu) * 1000u;
        off += 4;
        if (len > FZ_MAX_FRAME)
            len = FZ_MAX_FRAME;
        if (len > size - off)
            len = size - off;
        uint8_t fr[FZ_MAX_FRAME];
        memcpy(fr, data + off, len);
        off += len;
        if (w & 0x8000u)
            fz_fix(fr, len);
        fz_input(z, fr, len);
        fz_echo(&s);
        fz_run_timers(z, z->now + adv);
    }
    fz_finish(z);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_one(data, size);
}
