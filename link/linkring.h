/* SPDX-License-Identifier: MIT */
/*
 * The link boundary of the factored backends: a frame region shared by the
 * link domain (moat-linkd) and the network domain (moat-netd).
 *
 *   +---------------------------+ 0
 *   | header                    |  magic, version, geometry (checked at attach)
 *   | control words             |  gen / net_ack (restart), sleeping flags,
 *   |                           |  stop, test hook word
 *   | counters                  |  net side, link side (diagnostics only)
 *   | 4 ring index blocks       |  rx, rx-free, tx, tx-free (core/ring.h)
 *   | 4 descriptor arrays       |  16-byte records {off, len, flags, 0}
 *   +---------------------------+ buf_off
 *   | rx buffers  [0, n_rx)     |  frame_size bytes each (power of two)
 *   | tx buffers  [n_rx, n_rx+n_tx)
 *   +---------------------------+ size
 *
 * Rings (each single-producer/single-consumer):
 *   rx      link -> net   filled receive buffers
 *   rx-free net  -> link  receive buffers given back
 *   tx      net  -> link  filled transmit buffers
 *   tx-free link -> net   transmit buffers given back
 *
 * A descriptor's off is relative to buf_off and must be a multiple of
 * frame_size; holding a descriptor means owning the buffer. Frames may
 * fill a whole buffer: with a TAP that has receive offload the region is
 * laid out for 64 KiB frames (linkring_geom_for_frame, frame_size 128 KiB)
 * and the link domain hands up coalesced TCP segments whole. A receive
 * descriptor's flags are the link driver's MOAT_LINK_RX_* flags for the
 * frame (checksum vouched for, or metadata malformed), which the net side
 * passes to the core as moat_link.rx_flags: the only way the net domain
 * learns what the device said, never from bytes in the buffer. Every
 * other flag and ring must carry 0. Each side keeps
 * one private bit per buffer saying "mine" and accepts a descriptor only
 * for a buffer of the right pool that it does not already hold, so a
 * buffer can never be accepted twice.
 *
 * Restart of the link domain: the supervisor, once the old moat-linkd is
 * dead, bumps gen and rings the net side. The net side notices gen changed
 * (it looks on every rx/tx call and before sleeping), takes every transmit
 * buffer back, forgets every receive buffer, resets all four rings and
 * stores net_ack = gen. A new moat-linkd waits for net_ack == gen before it
 * touches the rings, and then starts owning every receive buffer. Frames
 * in flight are lost, which TCP repairs.
 *
 * Does not contain a device driver (ports/linux) or the spawning of the
 * domains (backends/process).
 */
#ifndef MOAT_LINKRING_H
#define MOAT_LINKRING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/link.h"
#include "core/ring.h"

#define LINKRING_MAGIC   0x4b4e494cu   /* "LINK" little-endian */
#define LINKRING_VERSION 3u     /* 2: 16-byte descriptors, 32-bit lengths, rx flags;
                                   3: rsvd carries the rx skip and the GSO segment size,
                                   geometry flag LINKRING_GEOM_TX_GSO */
#define LINKRING_FRAME_MAX 131072u  /* largest frame_size: a 64 KiB offload frame fits */

/* Geometry: both sides agree on it out of band (the supervisor's boot
 * block) and check it against the header; then each keeps it privately. */
struct linkring_geom {
    uint32_t frame_size;    /* power of two, 2048..LINKRING_FRAME_MAX */
    uint32_t n_rx;          /* receive buffers, >= 1 */
    uint32_t n_tx;          /* transmit buffers, >= 1 */
    uint32_t ring_slots;    /* descriptors per ring, power of two >= n_rx, n_tx */
    uint32_t flags;         /* LINKRING_GEOM_* */
    uint32_t rsvd;          /* 0 */
};

/* The device takes TCP/IPv4 GSO frames (a TAP with offloads): the net side
 * joins consecutive segments into 64 KiB frames (ports/linux/gso.c) and
 * sends each as ONE descriptor with LINKRING_TX_GSO and its segment size;
 * the link domain checks it and writes it whole (tx_commit_gso). Needs
 * frame_size >= 14 + 65535. */
#define LINKRING_GEOM_TX_GSO 0x1u
/* Transmit descriptor flag: a GSO frame; rsvd holds the segment size. */
#define LINKRING_TX_GSO      0x1u
/* Every transmit frame starts LINKRING_TX_HEAD bytes into its buffer (a
 * descriptor's off still names the buffer, its len the frame). The room in
 * front is the link domain's: it writes the device's own header there (a
 * TAP's virtio-net header) and hands header and frame to the device in one
 * write(), without copying the frame out of the region first (issue 8:
 * that copy was a tenth of the factored sender's CPU time). The supervisor
 * sets it together with LINKRING_GEOM_TX_GSO. */
#define LINKRING_GEOM_TX_HEAD 0x2u
#define LINKRING_TX_HEAD      64u

struct linkring_layout {
    struct linkring_geom g;
    size_t off_rings;       /* 4 x struct moat_ring_sh */
    size_t off_desc;        /* 4 x ring_slots x 8 bytes */
    size_t buf_off;         /* first buffer, aligned to frame_size */
    size_t size;            /* whole region */
};

/* One descriptor record as it crosses the boundary. */
struct linkring_desc {
    uint32_t off;           /* from buf_off; multiple of frame_size */
    uint32_t len;           /* frame bytes (1..frame_size; 0 on the free rings) */
    uint32_t flags;         /* rx ring: MOAT_LINK_RX_KNOWN bits; tx ring:
                               LINKRING_TX_GSO (GSO regions only); elsewhere 0 */
    uint32_t rsvd;          /* tx with LINKRING_TX_GSO: segment size 1..65535; rx: bytes
                               before the frame in its buffer, 0..LINKRING_RX_SKIP_MAX (the
                               link domain read the device's header there too); else 0 */
};
#define LINKRING_RX_SKIP_MAX 64u
_Static_assert(sizeof(struct linkring_desc) == 16, "descriptor size");

enum { LINKRING_RX = 0, LINKRING_RXFREE, LINKRING_TX, LINKRING_TXFREE, LINKRING_NRINGS };

/* Why the net side refused something (counters, never a crash). */
#define LINKRING_BAD(X)                                              \
    X(INDEX, "ring index from the link domain is impossible")        \
    X(RANGE, "descriptor offset outside its buffer pool")            \
    X(ALIGN, "descriptor offset not a multiple of the frame size")   \
    X(LEN, "descriptor length zero or larger than a buffer")         \
    X(DUP, "descriptor for a buffer this side already holds")        \
    X(FLAGS, "descriptor with unknown or misplaced flags set")

enum linkring_bad {
#define LINKRING_BAD_ENUM_(n, d) LINKRING_BAD_##n,
    LINKRING_BAD(LINKRING_BAD_ENUM_)
#undef LINKRING_BAD_ENUM_
    LINKRING_BAD_COUNT
};

/* Counters one side keeps (in its private memory and mirrored to the
 * header for diagnostics; nobody acts on the mirrored copy). */
struct linkring_counters {
    uint64_t frames;        /* net: frames received; link: frames from the device */
    uint64_t frames_out;    /* net: frames committed; link: frames written to the device */
    uint64_t no_buf;        /* no free buffer: frame not sent / not read */
    uint64_t bells;         /* doorbells rung */
    uint64_t resets;        /* net: gen changes handled */
    uint64_t bad[LINKRING_BAD_COUNT];
};

/* Test hook requests (only acted on in MOAT_TEST_HOOKS builds). */
enum linkring_attempt {
    LINKRING_TRY_NONE = 0,
    LINKRING_TRY_OPEN,
    LINKRING_TRY_SOCKET,
    LINKRING_TRY_EXECVE,
    LINKRING_TRY_PTRACE,
    LINKRING_TRY_MPROTECT_EXEC,
    LINKRING_TRY_COUNT_
};
/* Test hook: a request of LINKRING_TRY_RAW + nr makes the domain issue the
 * raw system call nr (below 4096) with every argument 1000, a value no
 * argument condition of the filters accepts (tests/factored/test_confine.c). */
#define LINKRING_TRY_RAW 0x10000u

struct linkring_hdr {
    uint32_t magic;
    uint32_t version;
    struct linkring_geom geom;
    uint64_t size;
    uint8_t pad0[MOAT_CACHELINE - 40];
    /* Supervisor writes gen; the net side answers with net_ack. */
    _Atomic uint32_t gen;
    _Atomic uint32_t net_ack;
    _Atomic uint32_t stop;          /* supervisor: link domain should exit */
    _Atomic uint32_t net_broken;    /* net: cut the link off (bad index) until next gen */
    _Atomic uint32_t try_net;       /* test hook: enum linkring_attempt for moat-netd */
    _Atomic uint32_t try_link;      /* test hook: for moat-linkd */
    /* Last words: the system call number a domain's seccomp filter caught
     * it making, written by its SIGSYS handler just before it dies (-1 or
     * 0 before). For the supervisor's report only; never trusted. */
    _Atomic int32_t last_call_net;
    _Atomic int32_t last_call_link;
    /* The link domain attached its device (1), or could not (link_err =
     * the MOAT_E_* code, then it exits). For moat_stack_open's answer. */
    _Atomic uint32_t link_up;
    _Atomic int32_t link_err;
    uint8_t pad1[MOAT_CACHELINE - 40];
    _Atomic uint32_t net_sleeping;  /* net sets before it sleeps; link exchanges to 0 */
    uint8_t pad2[MOAT_CACHELINE - 4];
    _Atomic uint32_t link_sleeping; /* link sets before it sleeps; net exchanges to 0 */
    uint8_t pad3[MOAT_CACHELINE - 4];
    /* Each on its own cache lines: the two sides write them at different
     * rates and must not bounce one line between them. */
    _Alignas(MOAT_CACHELINE) struct linkring_counters net_cnt;   /* net side only */
    _Atomic uint32_t net_cnt_seq;   /* snapshot protocol of net_cnt (below) */
    _Alignas(MOAT_CACHELINE) struct linkring_counters link_cnt;  /* link side only */
    _Atomic uint32_t link_cnt_seq;  /* snapshot protocol of link_cnt */
};

/*
 * The counters in the header are a copy each side publishes (when it
 * goes to sleep, and the link side after each flush) while the supervisor
 * may be reading it: they cross as a snapshot (moat_seq_publish /
 * moat_seq_read of core/boundary.h, the protocol of the statistics), so a
 * reader never keeps a torn 64-bit value or a mix of two publications.
 * linkring_counters_read: 0 and a consistent copy of the net side's
 * (@p link_side 0) or the link side's counters, or MOAT_E_AGAIN if
 * @p tries attempts all overlapped a write (a writer stopped half way:
 * the counters are diagnostics, never trusted).
 */
_Static_assert(sizeof(struct linkring_counters) % sizeof(uint32_t) == 0,
               "counters are whole words");
void linkring_counters_publish(void *base, int link_side, const struct linkring_counters *c);
int linkring_counters_read(const void *base, int link_side, struct linkring_counters *out,
                           unsigned tries);

/* Geometry for an IP MTU: frame_size fits mtu + Ethernet header. */
void linkring_geom_for_mtu(uint16_t mtu, uint32_t nbufs, struct linkring_geom *g);
/* Geometry for frames of up to @p max_frame bytes (at most
 * LINKRING_FRAME_MAX; a TAP with receive offload: MOAT_TAP_FRAME_MAX). */
void linkring_geom_for_frame(uint32_t max_frame, uint32_t nbufs, struct linkring_geom *g);

/* Compute the layout. Returns 0, MOAT_E_INVAL or MOAT_E_RANGE. */
int linkring_layout(const struct linkring_geom *g, struct linkring_layout *out);

/* Supervisor: write the header of a zeroed region and reset the rings
 * (gen = 1: the first link domain waits for the net side's ack as a
 * restarted one does). */
void linkring_region_init(void *base, const struct linkring_layout *lay);

/* Check the header of a mapped region against our layout.
 * Returns 0 or MOAT_E_PEER. */
int linkring_region_check(const void *base, size_t size, const struct linkring_layout *lay);

static inline struct linkring_hdr *linkring_hdr(void *base)
{
    return (struct linkring_hdr *)base;
}

/* ---- net side ----------------------------------------------------------- */

/*
 * Make the net side of the region at @p base (borrowed: mapped until after
 * close) a struct moat_link for netloop. @p net_bell is the eventfd the
 * link domain rings for us (our wait_fd), @p link_bell the one we ring for
 * it; both are taken (closed by close()). Returns 0, MOAT_E_PEER (header
 * mismatch), MOAT_E_NOMEM.
 */
int linkring_net_link(void *base, size_t size, const struct linkring_layout *lay,
                      int net_bell, int link_bell, uint16_t mtu, struct moat_link **out);

/* A copy of the net side's counters. */
void linkring_net_counters(struct moat_link *l, struct linkring_counters *out);

/* Test hooks compiled in: a function run by the net side when try_net is
 * set (the domain executable installs it). */
typedef void (*linkring_try_fn)(unsigned attempt);
void linkring_net_set_try(struct moat_link *l, linkring_try_fn fn);

/* A function the net side calls each time the net domain is about to
 * sleep (at least once a second while idle): moat-netd checks there that
 * the application still exists. */
typedef void (*linkring_idle_fn)(void);
void linkring_net_set_idle(struct moat_link *l, linkring_idle_fn fn);

/* ---- link side ---------------------------------------------------------- */

/* What both sides of a region hold of it: where it is, its layout (a
 * private copy, never re-read from shared memory), its four rings and
 * the two doorbells. Set by linkring_view_attach. */
struct linkring_view {
    void *base;
    struct linkring_hdr *hdr;
    struct linkring_layout lay;
    uint8_t *bufs;
    struct moat_ring ring[LINKRING_NRINGS];
    int net_bell, link_bell;
};

struct linkring_dev {
    struct linkring_view v;
    uint8_t *mine;          /* bit per buffer */
    uint32_t *free_rx;      /* stack of receive buffers we hold */
    uint32_t n_free_rx;
    uint32_t cur_rx;        /* buffer handed out by rx_buf, or UINT32_MAX */
    uint32_t cur_tx;        /* buffer handed out by tx_peek, or UINT32_MAX */
    uint32_t cur_tx_len;
    uint16_t cur_tx_gso;    /* its segment size if it is a GSO frame, else 0 */
    uint32_t gen;           /* generation we started in */
    int started;            /* net side acknowledged gen: rings are ours */
    int dirty;              /* published since the last notify */
    struct linkring_counters cnt;
};

/* Attach the link side (borrows @p base and the fds). Does not touch the
 * rings: call linkring_dev_ready() until it says yes. Returns 0, MOAT_E_PEER,
 * MOAT_E_NOMEM. */
int linkring_dev_attach(struct linkring_dev *d, void *base, size_t size,
                        const struct linkring_layout *lay, int net_bell, int link_bell);
void linkring_dev_detach(struct linkring_dev *d);
/* Nonzero once the net side has acknowledged the current generation (the
 * link side then starts with every receive buffer and empty rings). */
int linkring_dev_ready(struct linkring_dev *d);

/* Receive path: a free buffer to read a frame into (0, or MOAT_E_NOBUFS),
 * then push it with the frame's length (0 keeps the buffer). */
int linkring_dev_rx_buf(struct linkring_dev *d, uint8_t **buf, uint32_t *cap);
void linkring_dev_rx_push(struct linkring_dev *d, uint32_t len);
/* The same with the device's MOAT_LINK_RX_* flags for the frame. */
void linkring_dev_rx_push_flags(struct linkring_dev *d, uint32_t len, uint32_t flags);
/* The same for a frame that starts @p skip bytes into the buffer (at most
 * LINKRING_RX_SKIP_MAX; skip + len at most the buffer). */
void linkring_dev_rx_push_at(struct linkring_dev *d, uint32_t skip, uint32_t len, uint32_t flags);

/* Transmit path: the next frame to send (0, or MOAT_E_AGAIN), then give the
 * buffer back. With LINKRING_GEOM_TX_GSO, d->cur_tx_gso says whether the
 * frame is a GSO frame (its segment size) or a plain one (0). */
int linkring_dev_tx_peek(struct linkring_dev *d, const uint8_t **frame, uint32_t *len);
void linkring_dev_tx_done(struct linkring_dev *d);

/* End of a batch: publish our indices, ring the net side if it sleeps. */
void linkring_dev_flush(struct linkring_dev *d);
/* Before sleeping: drain our bell, set link_sleeping, re-check. Returns
 * nonzero if work arrived meanwhile (then do not sleep). */
int linkring_dev_arm(struct linkring_dev *d);
/* Nonzero if the net side has frames for us. */
int linkring_dev_tx_pending(struct linkring_dev *d);

/* Shared helpers. */
void linkring_bell_ring(int fd);
void linkring_bell_drain(int fd);
const char *linkring_bad_name(int reason);

#endif
