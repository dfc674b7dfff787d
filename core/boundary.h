/* SPDX-License-Identifier: MIT */
/*
 * The domain boundary between the application and the network domain:
 * the layout of the shared socket region, the message catalog's types,
 * and the doorbell protocol. Every backend uses exactly this layout; the
 * thread backend keeps the region in ordinary memory, the factored ones
 * in a memfd mapped by both processes.
 *
 *   +------------------------+ 0
 *   | region header          |  magic, version, geometry, doorbell words
 *   +------------------------+
 *   | ctl ring indices       |  app -> net requests (64-byte messages)
 *   | evt ring indices       |  net -> app completions (64-byte messages)
 *   | socket table           |  per slot: rx/tx ring indices, status, error
 *   +------------------------+
 *   | ctl data, evt data     |
 *   | slot 0 rx data, tx data|  byte rings: sock_rx_bytes, sock_tx_bytes
 *   | slot 1 ...             |
 *   +------------------------+ size
 *
 * Readiness is level-triggered: the network domain keeps a status word per
 * socket slot (MOAT_SS_*) that only it writes; data readiness is the fill
 * of the slot's rings. Completions of requests come back on the evt ring.
 * A request is answered by exactly one RESP with the same id. The region
 * never holds a pointer: only offsets computed from the geometry, which
 * each side keeps privately after checking the header.
 *
 * Does not contain protocol logic (core/), spawning or confinement
 * (backends/).
 */
#ifndef MOAT_BOUNDARY_H
#define MOAT_BOUNDARY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/stats.h"
#include "ring.h"

#define MOAT_REGION_MAGIC   0x54414f4du /* "MOAT" little-endian */
#define MOAT_REGION_VERSION 5u   /* 2: dirty hints; 3: ready hints; 4: stats_seq snapshot,
                                    ctl_error, net_beat in the header; 5: 128-byte messages
                                    and 32-byte datagram headers (IPv6 addresses) */
#define MOAT_MSG_SIZE       128u  /* a power of two: two addresses of 32 bytes fit */
#define MOAT_CTL_SLOTS      64u         /* messages per ctl / evt ring */

/* Geometry: everything both sides must agree on. */
struct moat_geom {
    uint32_t max_sockets;
    uint32_t sock_rx_bytes;   /* power of two */
    uint32_t sock_tx_bytes;   /* power of two */
    uint32_t ctl_slots;       /* power of two */
};

/* Offsets of everything in the region, computed from the geometry. */
struct moat_layout {
    struct moat_geom g;
    size_t off_ctl_sh, off_evt_sh, off_socks;
    size_t off_ctl_data, off_evt_data, off_sock_data;
    size_t sock_stride;       /* rx + tx data per slot */
    size_t size;              /* whole region */
    /* Dirty hints (moat_dirty_mark): one bit per slot in n_dirty 32-bit
     * words at off_dirty, one summary bit per word at off_dirty_sum. */
    size_t off_dirty, off_dirty_sum;
    uint32_t n_dirty, n_dirty_sum;
    /* Ready hints (moat_ready_mark), net -> app: the same shape as the
     * dirty hints (n_dirty words, n_dirty_sum summary words). */
    size_t off_ready, off_ready_sum;
};

/* Socket status bits (written by the net domain only). */
enum {
    MOAT_SS_OPEN      = 1u << 0,  /* slot is allocated to the application */
    MOAT_SS_CONNECTED = 1u << 1,  /* TCP established / UDP connected */
    MOAT_SS_LISTENING = 1u << 2,
    MOAT_SS_ACCEPTQ   = 1u << 3,  /* a connection waits to be accepted */
    MOAT_SS_RDHUP     = 1u << 4,  /* no more data will arrive after the ring */
    MOAT_SS_WRSHUT    = 1u << 5,  /* no more data may be sent */
    MOAT_SS_HUP       = 1u << 6,  /* connection finished or reset */
    MOAT_SS_ERR       = 1u << 7,  /* error word holds a pending error */
    MOAT_SS_CONNECTING = 1u << 8
};

struct moat_sock_sh {
    struct moat_ring_sh rx;            /* net produces, app consumes */
    struct moat_ring_sh tx;            /* app produces, net consumes */
    _Atomic uint32_t status;           /* MOAT_SS_* */
    _Atomic int32_t  error;            /* MOAT_E_* when MOAT_SS_ERR */
    _Atomic uint32_t rx_read;          /* app: bytes read so far (window updates) */
    /* net: TCP send limit, the bytes of the tx ring the application may
     * fill (grows with cwnd, tcp_wnd.c); 0 = the whole ring. Untrusted by
     * the application: clamped to the ring. */
    _Atomic uint32_t tx_limit;
    uint8_t pad[MOAT_CACHELINE - 16];
};

struct moat_region_hdr {
    uint32_t magic;
    uint32_t version;
    struct moat_geom geom;
    uint64_t size;
    uint8_t pad0[MOAT_CACHELINE - 32];
    /* Application wake-ups: the net domain bumps app_seq after any change
     * an application thread may wait for, and wakes the futex when
     * app_waiters is nonzero. */
    _Atomic uint32_t app_seq;
    _Atomic uint32_t app_waiters;
    uint8_t pad1[MOAT_CACHELINE - 8];
    /* Net wake-ups: the net domain sets net_sleeping before it sleeps;
     * an application that produced work exchanges it to 0 and, if it was
     * 1, rings the net doorbell (an eventfd). */
    _Atomic uint32_t net_sleeping;
    _Atomic uint32_t stop;             /* app asks the net domain to exit */
    _Atomic uint32_t net_ready;        /* net domain attached and running */
    /* Set by an application that calls moat_dirty_mark() after every
     * index it publishes on a stream socket: the net domain then visits
     * only marked sockets instead of every one per round. */
    _Atomic uint32_t dirty_hints;
    /* Heartbeat: the net domain advances it at least every
     * NETLOOP_BEAT_US while its loop runs, and whenever it wakes from a
     * sleep (which lasts at most a second). An application that waited
     * cfg.net_stall_ms without seeing it move reports the stack dead
     * (a stopped or livelocked net domain; app/client.c). */
    _Atomic uint32_t net_beat;
    uint8_t pad2[MOAT_CACHELINE - 20];
    struct moat_stats stats;           /* written by net when it answers STATS */
    /* Snapshot protocol of stats (moat_stats_publish / moat_stats_read):
     * odd while the net domain writes them. */
    _Atomic uint32_t stats_seq;
    /* MOAT_E_PEER once the net domain stopped reading this application's
     * ctl ring (an impossible index): the client fails its next call
     * with it instead of waiting for answers that cannot come. 0 before. */
    _Atomic int32_t ctl_error;
};

/* Message payloads: fixed-width integers only, explicit padding. */
struct moat_m_open   { uint32_t type; uint32_t pad; };
/* An address of either family (struct moat_addr's meaning; family 0 is
 * IPv4). 32 bytes so NAME's answer carries two. */
struct moat_m_addr {
    uint32_t ip; uint16_t port; uint8_t family; uint8_t pad;
    uint32_t scope_id; uint32_t pad2;
    uint8_t ip6[16];
};
struct moat_m_listen { uint32_t backlog; uint32_t pad; };
struct moat_m_shut   { uint32_t how; uint32_t pad; };
struct moat_m_opt    { uint32_t opt; uint32_t pad; int64_t value; };
struct moat_m_resp {
    uint32_t sock;          /* OPEN / ACCEPT: the new handle */
    uint32_t pad;
    int64_t  value;         /* GETOPT */
    struct moat_m_addr local, remote;   /* NAME / ACCEPT(remote) */
};

union moat_msg_body {
    struct moat_m_open open;
    struct moat_m_addr addr;
    struct moat_m_listen listen;
    struct moat_m_shut shut;
    struct moat_m_opt opt;
    struct moat_m_resp resp;
    uint8_t raw[MOAT_MSG_SIZE - 16];
};

struct moat_msg {
    uint16_t type;          /* enum moat_msg_type */
    uint16_t pad;
    uint32_t id;            /* request id; echoed in the RESP */
    uint32_t sock;          /* handle the request is about */
    int32_t  result;        /* RESP: 0 or MOAT_E_* */
    union moat_msg_body body;
};
_Static_assert(sizeof(struct moat_msg) == MOAT_MSG_SIZE, "message size");
_Static_assert(sizeof(struct moat_sock_sh) % MOAT_CACHELINE == 0, "slot alignment");

enum moat_msg_type {
    MOAT_MSG_INVALID_ = 0,
#define MOAT_MSG(name, dir, member, needs_sock) MOAT_MSG_##name,
#include "msg.def"
#undef MOAT_MSG
    MOAT_MSG_COUNT_
};

enum moat_msg_dir { MOAT_DIR_APP = 1, MOAT_DIR_NET = 2 };

/* Compute the layout for @p g. Returns 0 or MOAT_E_INVAL / MOAT_E_RANGE. */
int moat_layout_compute(const struct moat_geom *g, struct moat_layout *out);

/* Write a fresh header and reset every ring of a zeroed region. */
void moat_region_init(void *base, const struct moat_layout *lay);

/* Check a region header against the geometry we expect (attach time).
 * Returns 0 or MOAT_E_PEER. */
int moat_region_check(const void *base, size_t size, const struct moat_layout *lay);

/* Pointers into a region (computed from the private layout). */
static inline struct moat_region_hdr *moat_region_hdr(void *base)
{
    return (struct moat_region_hdr *)base;
}
/*
 * Statistics cross the boundary as a seqlock-style snapshot, so no reader
 * ever sees a torn value (several application threads may ask at once,
 * and the net domain may be writing for one while another reads): the
 * single writer makes stats_seq odd, stores the words, makes it even
 * again (release); a reader copies between two loads of stats_seq and
 * keeps the copy only if both were the same even value. The words are
 * moved as 32-bit relaxed atomics (lock-free on every target the core
 * builds for; a 64-bit counter is two of them, both inside one snapshot).
 */
_Static_assert(sizeof(struct moat_stats) % sizeof(uint32_t) == 0, "stats are whole words");
#define MOAT_STATS_WORDS (sizeof(struct moat_stats) / sizeof(uint32_t))

/* The protocol for any block of @p words 32-bit words one writer publishes
 * under its own sequence word @p seq (the stats below; the link ring's
 * counters, link/linkring.h). */
static inline void moat_seq_publish(_Atomic uint32_t *seq, void *dst, const void *src,
                                    size_t words)
{
    _Atomic uint32_t *d = (_Atomic uint32_t *)dst;
    const uint32_t *w = (const uint32_t *)src;
    uint32_t sq = atomic_load_explicit(seq, memory_order_relaxed);
    atomic_store_explicit(seq, sq | 1u, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);      /* odd before any word */
    for (size_t i = 0; i < words; i++)
        atomic_store_explicit(&d[i], w[i], memory_order_relaxed);
    atomic_store_explicit(seq, (sq | 1u) + 1u, memory_order_release);
}

/* One attempt: 0 and a consistent copy in @p out, or MOAT_E_AGAIN. */
static inline int moat_seq_read(const _Atomic uint32_t *seq, const void *src, void *out,
                                size_t words)
{
    const _Atomic uint32_t *s = (const _Atomic uint32_t *)src;
    uint32_t *w = (uint32_t *)out;
    uint32_t s1 = atomic_load_explicit(seq, memory_order_acquire);
    if (s1 & 1u)
        return MOAT_E_AGAIN;
    for (size_t i = 0; i < words; i++)
        w[i] = atomic_load_explicit(&s[i], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);      /* the words before the re-check */
    return atomic_load_explicit(seq, memory_order_relaxed) == s1 ? 0 : MOAT_E_AGAIN;
}

static inline void moat_stats_publish(struct moat_region_hdr *h, const struct moat_stats *src)
{
    moat_seq_publish(&h->stats_seq, &h->stats, src, MOAT_STATS_WORDS);
}

/* One attempt: 0 and a consistent copy in @p out, or MOAT_E_AGAIN (a
 * write was in progress or happened meanwhile: try again). */
static inline int moat_stats_read(const struct moat_region_hdr *h, struct moat_stats *out)
{
    return moat_seq_read(&h->stats_seq, &h->stats, out, MOAT_STATS_WORDS);
}

static inline struct moat_sock_sh *moat_region_sock(void *base,
        const struct moat_layout *lay, uint32_t idx)
{
    return (struct moat_sock_sh *)((uint8_t *)base + lay->off_socks) + idx;
}
static inline uint8_t *moat_region_rx_data(void *base, const struct moat_layout *lay,
                                           uint32_t idx)
{
    return (uint8_t *)base + lay->off_sock_data + (size_t)idx * lay->sock_stride;
}
static inline uint8_t *moat_region_tx_data(void *base, const struct moat_layout *lay,
                                           uint32_t idx)
{
    return moat_region_rx_data(base, lay, idx) + lay->g.sock_rx_bytes;
}

/*
 * Dirty hints: which stream sockets the application has published a ring
 * index on (tx prod: data to send; rx cons: room in the window). The
 * application sets the slot's bit, then the bit of its word in the
 * summary; the net domain exchanges a summary word to 0, then each word
 * it names. A bit set after the net domain cleared it stays set for the
 * next round, so no mark is lost; the net domain treats every mark as a
 * hint only (a hostile application can set any bit: it costs the net
 * domain one look at that socket). Call it after the publish and before
 * moat_stack_kick_net's fence (net/netloop.c, sleeping).
 */
/* Set slot @p idx's bit in the two-level bitmap at @p off_w / @p off_sum
 * (the dirty or the ready hints): the word first, then its summary bit. */
static inline void moat_hint_mark(void *base, const struct moat_layout *lay, size_t off_w,
                                  size_t off_sum, uint32_t idx)
{
    /* 32-bit words: lock-free on every target the core builds for. */
    _Atomic uint32_t *w = (_Atomic uint32_t *)((uint8_t *)base + off_w);
    _Atomic uint32_t *sum = (_Atomic uint32_t *)((uint8_t *)base + off_sum);
    if (idx >= lay->g.max_sockets)
        return;
    atomic_fetch_or_explicit(&w[idx >> 5], 1u << (idx & 31u), memory_order_release);
    atomic_fetch_or_explicit(&sum[idx >> 10], 1u << ((idx >> 5) & 31u), memory_order_release);
}
static inline void moat_dirty_mark(void *base, const struct moat_layout *lay, uint32_t idx)
{
    moat_hint_mark(base, lay, lay->off_dirty, lay->off_dirty_sum, idx);
}
/* Any mark not yet taken by the net domain? */
static inline int moat_dirty_pending(void *base, const struct moat_layout *lay)
{
    _Atomic uint32_t *sum = (_Atomic uint32_t *)((uint8_t *)base + lay->off_dirty_sum);
    for (uint32_t i = 0; i < lay->n_dirty_sum; i++)
        if (atomic_load_explicit(&sum[i], memory_order_acquire) != 0)
            return 1;
    return 0;
}

/*
 * Ready hints, the mirror of the dirty hints: the net domain marks a slot
 * after anything that can change what poll reports for it (its status
 * word, data published on its receive ring, room freed on its send ring);
 * the application (moat_poll_ready, app/client.c) exchanges
 * the summary words and the words they name to 0 and looks at the marked
 * sockets only. Same lost-mark argument as above, with the roles swapped:
 * the change is stored before the mark (release), the reader takes the
 * mark (acquire) before it reads the socket's state. The application
 * treats every mark as a hint: a hostile net domain can make it look at a
 * socket needlessly, or miss a wake-up, never read outside the bitmap.
 */
static inline void moat_ready_mark(void *base, const struct moat_layout *lay, uint32_t idx)
{
    moat_hint_mark(base, lay, lay->off_ready, lay->off_ready_sum, idx);
}

/* Validate a message received from the other side: known type, sent in
 * the right direction. Returns 0 or MOAT_E_PEER. */
int moat_msg_check(const struct moat_msg *m, enum moat_msg_dir from);
/* "CONNECT" etc.; never NULL. */
const char *moat_msg_name(unsigned type);

/* Socket handles: generation in the high 16 bits (never 0), slot index
 * in the low 16. */
static inline uint32_t moat_handle_make(uint32_t idx, uint32_t gen)
{
    return (gen << 16) | (idx & 0xffffu);
}
static inline uint32_t moat_handle_idx(uint32_t h) { return h & 0xffffu; }
static inline uint32_t moat_handle_gen(uint32_t h) { return h >> 16; }

/* UDP datagram record header in a socket ring; the payload follows. */
struct moat_dgram_hdr {
    uint32_t ip;        /* IPv4 peer address (source on rx, destination on tx) */
    uint16_t port;      /* peer port */
    uint16_t len;       /* payload bytes that follow */
    uint8_t family;     /* 0 / MOAT_AF_INET: ip; MOAT_AF_INET6: ip6, scope_id */
    uint8_t pad[3];
    uint32_t scope_id;  /* IPv6 link-local: interface index + 1 */
    uint8_t ip6[16];    /* IPv6 peer address */
};
_Static_assert(sizeof(struct moat_dgram_hdr) == 32, "dgram header size");

#endif
