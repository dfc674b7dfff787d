/* SPDX-License-Identifier: MIT */
/*
 * Shared support of the fuzz harnesses in tests/fuzz/ (one stack, a test
 * link that checks and captures what the stack sends, the application's
 * side of the socket boundary, frame builders with correct checksums, the
 * end-of-run invariants, and the replay main).
 *
 * Every harness is built two ways (tests/fuzz/tests.cmake): as a libFuzzer
 * target (clang, -DMOAT_LIBFUZZER, ASan+UBSan, -DMOAT_FUZZ=ON) and as a
 * replay program `<harness>_replay FILE|DIR...` that CTest runs over
 * tests/fuzz/corpus/<harness>/ in every backend build.
 *
 * Does not use Check or the unit-test fixture (tests/support/fx.h): a
 * failed invariant must abort inside the fuzzer, where Check's forking
 * runner does not exist. Test code: plain libc, globals allowed.
 */
#ifndef MOAT_TEST_FZ_H
#define MOAT_TEST_FZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/core_priv.h"
#include "core/tcp_priv.h"

#define FZ_MTU 1500u
#define FZ_MAX_FRAME 1514u
#define FZ_L_IP 0xc0000201u   /* 192.0.2.1: the stack */
#define FZ_R_IP 0xc0000202u   /* 192.0.2.2: the peer the fuzzer plays */
#define FZ_CAP 8u             /* frames sent by the stack kept for the harness */

extern const uint8_t fz_l_mac[6];
extern const uint8_t fz_r_mac[6];

/* Called for every well-formed frame the stack sends (after the checks
 * of fz.c), so a harness can check its own invariants and learn numbers. */
typedef void (*fz_tx_hook)(void *ctx, const uint8_t *frame, size_t len);

struct fz {
    struct moat_link link;      /* first */
    uint8_t txbuf[FZ_MAX_FRAME + 64];
    int acquired;
    uint64_t frames_out;
    uint8_t cap[FZ_CAP][FZ_MAX_FRAME];  /* the last frames sent, ring */
    uint16_t cap_len[FZ_CAP];
    unsigned n_cap;             /* frames captured so far (index = n % FZ_CAP) */
    struct moat_link *link_override;  /* set before fz_start: the core's link
                                          instead of the test link */
    fz_tx_hook hook;
    void *hook_ctx;
    struct moat_config cfg;
    struct moat_layout lay;
    uint8_t *region;
    uint8_t *mem;
    size_t mem_len;
    struct mcore *core;
    struct moat_ring ctl, evt;
    uint32_t next_id;
    uint64_t now;
};

/* The input being replayed (named in failure messages). */
extern const char *fz_current;
/* Print @p what with the input's name and abort (the fuzzer's crash). */
_Noreturn void fz_fail(const char *what);

/* Default configuration (small pools: exhaustion is reachable), then
 * fz_start after the harness adjusted z->cfg. fz_start also adds a
 * static ARP entry for the peer. */
void fz_config(struct fz *z);
void fz_start(struct fz *z);
/* Run the clock past every lifetime, check that no packet buffer is held,
 * shut the stack down, check again (and that every slot is free), free. */
void fz_finish(struct fz *z);

/*
 * Snapshot of a harness after its setup (stack started, sockets opened):
 * instead of starting a stack and opening its sockets for every input
 * (about a third of each input's time, and thousands of edges libFuzzer
 * had to collect again each time), the harness sets up once, takes a
 * snapshot, and restores it before every later input. The state is the
 * harness's own struct @p h (@p len bytes, starting with its struct fz,
 * at a fixed address: a static, since the core keeps pointers into it),
 * the core's memory and the region's shared part (up to the socket ring
 * data, which the setup never clears either). The core has no other
 * state (no globals; time and randomness are arguments), so a restored
 * stack is the same as a fresh one byte for byte and every input still
 * replays the same way (the replay programs restore the same snapshot).
 * fz_restore returns 0 when there is no snapshot of @p h yet: set up,
 * then call fz_snapshot.
 */
void fz_snapshot(const void *h, size_t len);
int fz_restore(void *h, size_t len);

/* Buffer @p k (0..FZ_NBUF-1) of @p size bytes, kept for the process and
 * reused by the next input asking for the same size (contents stale). */
#define FZ_NBUF 4u
void *fz_buf(unsigned k, size_t size, size_t align);
/* Abort unless @p f is a well-formed frame from the stack (IPv4 header and
 * checksum; TCP, UDP, ICMP lengths and checksums when unfragmented). */
void fz_check_frame(const uint8_t *f, size_t len);

/* One request on the ctl ring, answered by one poll. Returns the RESP's
 * result, or MOAT_E_PEER if the core did not answer (it stops reading a
 * ring a hostile application broke). */
int fz_call(struct fz *z, struct moat_msg *m, struct moat_msg *r);
/* OPEN (+ BIND port) (+ CONNECT ip:port) (+ LISTEN); returns the handle or 0. */
uint32_t fz_sock(struct fz *z, uint32_t type, uint16_t port, uint32_t cip, uint16_t cport,
                 int listen);
/* fz_sock bound to the any address of @p family (MOAT_AF_INET6: ::, the
 * dual-stack address; 0: IPv4's 0.0.0.0). */
uint32_t fz_sock_af(struct fz *z, uint32_t type, uint8_t family, uint16_t port, uint32_t cip,
                    uint16_t cport, int listen);
/* The application's views of socket @p h's rings. */
void fz_rings(struct fz *z, uint32_t h, struct moat_ring *rx, struct moat_ring *tx);

/* Poll until the next deadline passes @p until (bounded), then set the
 * clock to @p until. */
void fz_run_timers(struct fz *z, uint64_t until);
/* Hand a frame to the stack (copied to a buffer of exactly @p len bytes so
 * ASan sees any read past the end), then poll once. */
void fz_input(struct fz *z, const uint8_t *frame, size_t len);

/* ---- bytes and checksums ----------------------------------------------- */

/* (byte order: rd16/rd32/wr16/wr32 of core/bytes.h) */
/* Ones'-complement sum of @p n bytes added to @p s, folded (not inverted). */
uint16_t fz_sum16(uint32_t s, const uint8_t *p, size_t n);
/* Checksum of an L4 segment with the pseudo header of IPv4 header @p ip. */
uint16_t fz_l4sum(const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t n);
uint16_t fz_l6sum(const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t n);
/* Recompute whatever checksums the headers of frame @p fr make computable
 * (IPv4 header; ICMP, UDP, TCP of an unfragmented datagram). */
void fz_fix(uint8_t *fr, size_t len);

/* Write an Ethernet header (peer -> stack) at @p f. */
void fz_eth(uint8_t *f, uint16_t type);
/* Write a 20-byte IPv4 header at @p h for @p l4_len payload bytes, peer ->
 * @p dst (0: the stack), with a correct checksum. */
void fz_ip4(uint8_t *h, uint8_t proto, size_t l4_len, uint32_t dst);

/* Bytes read from a byte stream at absolute stream position @p pos (the
 * peer's and the application's data in the TCP harnesses): any correct
 * reassembly delivers exactly these, whatever overlapped. */
static inline uint8_t fz_pattern(uint32_t pos)
{
    return (uint8_t)(pos * 131u + (pos >> 9) * 7u + 17u);
}

/* ---- program-style inputs ------------------------------------------------- */

/* Arguments read from the input; past its end they read as 0, so every
 * byte string is a valid program. */
struct fz_rd {
    const uint8_t *p;
    size_t n, off;
};
static inline uint8_t fz_arg8(struct fz_rd *r) { return r->off < r->n ? r->p[r->off++] : 0; }
static inline uint16_t fz_arg16(struct fz_rd *r)
{
    uint16_t hi = fz_arg8(r);
    return (uint16_t)(hi << 8 | fz_arg8(r));
}
static inline uint32_t fz_arg32(struct fz_rd *r)
{
    uint32_t hi = fz_arg16(r);
    return hi << 16 | fz_arg16(r);
}

/* ---- TCP from the peer --------------------------------------------------- */

struct fz_seg {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    const uint8_t *opt;         /* raw option bytes, padded to 4 with NOPs */
    size_t opt_len;             /* at most 40 */
    uint32_t len;               /* payload: fz_pattern(seq + i) (SYN counted) */
    uint8_t tos;
};
/* Build and inject a segment R -> L (correct checksums); payload clamped
 * to what fits the MTU. */
void fz_tcp_inject(struct fz *z, const struct fz_seg *s);
/* A TCP segment the stack sent (already checked by fz_check_frame). */
struct fz_tseg {
    const uint8_t *tcp;         /* TCP header */
    size_t hlen;                /* its length with options */
    uint16_t dport;
    uint32_t seq;
    uint8_t flags;
    uint32_t len;               /* payload bytes, at tcp + hlen */
    uint32_t end;               /* seq + len, + 1 for SYN and for FIN */
};
/* Parse frame @p f as an unfragmented TCP segment; 0 if it is not one. */
int fz_tcp_parse(const uint8_t *f, struct fz_tseg *s);
/* Remember the highest sequence number the stack sent a peer: *@p end
 * follows @p s (a SYN starts over), *@p heard says one was seen. */
static inline void fz_track_end(const struct fz_tseg *s, int *heard, uint32_t *end)
{
    if ((s->flags & 0x02) || !*heard || TCP_SEQ_GT(s->end, *end))
        *end = s->end;
    *heard = 1;
}
/* The application's side of a UDP socket: read up to 16 datagrams from
 * @p rx (checking each record) and write each back to @p tx -- to its
 * sender, or with no address when @p connected. */
void fz_echo_dgrams(struct moat_ring *rx, struct moat_ring *tx, int connected);

/* Frame @p i (0 = the latest) of the capture as TCP: header pointer and
 * lengths; 0 if there is no such frame or it is not TCP. */
int fz_cap_tcp(const struct fz *z, unsigned i, const uint8_t **tcp, size_t *tcp_len);

#endif
