/* SPDX-License-Identifier: MIT */
/*
 * The net side of the link boundary (link/linkring_net.c) against a
 * link domain that lies. The test plays the link domain by writing the
 * frame region directly: corrupt ring indices, descriptors out of range,
 * misaligned, oversize, with reserved flags, duplicated, or for buffers it
 * does not own, and rewriting a buffer after handing it over. The net side
 * must count and drop each one, hand the core only frames that are stable
 * private copies, and never crash. The honest path and the restart
 * protocol (generation word) are checked with the real link side.
 *
 *   test (fake moat-linkd)         frame region (mmap)          net side
 *   raw ring writes ------------>  rx / tx-free rings  ------>  struct moat_link
 *   linkring_dev_* (honest)  <---  tx / rx-free rings  <------  (what netloop drives)
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "link/linkring.h"
#include "support/check_main.h"

#define HL_DESC ((uint32_t)sizeof(struct linkring_desc))

struct hl {
    struct linkring_layout lay;
    void *base;
    struct linkring_hdr *hdr;
    uint8_t *bufs;
    int net_bell, link_bell;     /* our copies (the net side owns its own) */
    struct moat_link *net;
    /* Raw views for the fake link domain. */
    struct moat_ring rx_p, rxfree_c, tx_c, txfree_p;
};

static struct moat_ring_sh *hl_sh(struct hl *h, int i)
{
    return (struct moat_ring_sh *)((uint8_t *)h->base + h->lay.off_rings) + i;
}

static void hl_setup(struct hl *h)
{
    struct linkring_geom g = { .frame_size = 2048, .n_rx = 8, .n_tx = 8, .ring_slots = 8 };
    memset(h, 0, sizeof *h);
    ck_assert_int_eq(linkring_layout(&g, &h->lay), 0);
    h->base = mmap(NULL, h->lay.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(h->base, MAP_FAILED);
    linkring_region_init(h->base, &h->lay);
    h->hdr = linkring_hdr(h->base);
    h->bufs = (uint8_t *)h->base + h->lay.buf_off;
    h->net_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h->link_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ck_assert_int_ge(h->net_bell, 0);
    ck_assert_int_ge(h->link_bell, 0);
    ck_assert_int_eq(linkring_net_link(h->base, h->lay.size, &h->lay, dup(h->net_bell),
                                       dup(h->link_bell), 1500, &h->net), 0);
    /* The net side acknowledged generation 1 at attach. */
    ck_assert_uint_eq(atomic_load(&h->hdr->net_ack), 1);
    uint32_t cap = g.ring_slots * HL_DESC;
    uint8_t *d = (uint8_t *)h->base + h->lay.off_desc;
    moat_ring_attach(&h->rx_p, hl_sh(h, LINKRING_RX), d + 0 * cap, cap, 0);
    moat_ring_attach(&h->rxfree_c, hl_sh(h, LINKRING_RXFREE), d + 1 * cap, cap, 0);
    moat_ring_attach(&h->tx_c, hl_sh(h, LINKRING_TX), d + 2 * cap, cap, 0);
    moat_ring_attach(&h->txfree_p, hl_sh(h, LINKRING_TXFREE), d + 3 * cap, cap, 0);
}

static void hl_teardown(struct hl *h)
{
    h->net->ops->close(h->net);
    close(h->net_bell);
    close(h->link_bell);
    munmap(h->base, h->lay.size);
}

/* Fake link: publish one raw descriptor on a ring we produce. */
static void hl_put(struct moat_ring *r, uint32_t off, uint32_t len, uint32_t flags)
{
    struct linkring_desc d = { off, len, flags, 0 };
    moat_ring_put(r, 0, &d, HL_DESC);
    moat_ring_publish(r, HL_DESC);
}

static struct linkring_counters hl_cnt(struct hl *h)
{
    struct linkring_counters c;
    linkring_net_counters(h->net, &c);
    return c;
}

static int hl_rx(struct hl *h, const uint8_t **f, size_t *len)
{
    int r = h->net->ops->rx_acquire(h->net, f, len);
    if (r == 0)
        h->net->ops->rx_release(h->net);
    return r;
}

START_TEST(hostile_honest_link_round_trip)
{
    struct hl h;
    struct linkring_dev d;
    hl_setup(&h);
    ck_assert_int_eq(linkring_dev_attach(&d, h.base, h.lay.size, &h.lay, h.net_bell, h.link_bell), 0);
    ck_assert_int_eq(linkring_dev_ready(&d), 1);
    /* Link -> net, more frames than buffers: buffers must come back. */
    for (int i = 0; i < 40; i++) {
        uint8_t *buf;
        uint32_t cap;
        const uint8_t *f;
        size_t len;
        ck_assert_int_eq(linkring_dev_rx_buf(&d, &buf, &cap), 0);
        ck_assert_uint_eq(cap, 2048);
        memset(buf, i, 60 + i);
        linkring_dev_rx_push(&d, 60 + i);
        linkring_dev_flush(&d);
        ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
        ck_assert_uint_eq(len, 60 + i);
        ck_assert_uint_eq(f[0], i);
        ck_assert_uint_eq(f[len - 1], i);
        ck_assert_int_eq(hl_rx(&h, &f, &len), MOAT_E_AGAIN);
    }
    /* Net -> link, likewise. */
    for (int i = 0; i < 40; i++) {
        uint8_t *buf;
        size_t cap;
        const uint8_t *f;
        uint32_t len;
        ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
        ck_assert_uint_ge(cap, 1514);
        memset(buf, 0x80 | i, 100);
        ck_assert_int_eq(h.net->ops->tx_commit(h.net, 100), 0);
        h.net->ops->flush(h.net);
        ck_assert_int_eq(linkring_dev_tx_peek(&d, &f, &len), 0);
        ck_assert_uint_eq(len, 100);
        ck_assert_uint_eq(f[99], 0x80 | i);
        linkring_dev_tx_done(&d);
        linkring_dev_flush(&d);
    }
    struct linkring_counters c = hl_cnt(&h);
    ck_assert_uint_eq(c.frames, 40);
    ck_assert_uint_eq(c.frames_out, 40);
    for (int k = 0; k < LINKRING_BAD_COUNT; k++)
        ck_assert_uint_eq(c.bad[k], 0);
    linkring_dev_detach(&d);
    hl_teardown(&h);
}
END_TEST

START_TEST(hostile_doorbell_only_when_armed)
{
    struct hl h;
    struct linkring_dev d;
    struct pollfd p;
    hl_setup(&h);
    p.fd = h.net_bell;
    p.events = POLLIN;
    ck_assert_int_eq(linkring_dev_attach(&d, h.base, h.lay.size, &h.lay, h.net_bell, h.link_bell), 0);
    ck_assert_int_eq(linkring_dev_ready(&d), 1);
    linkring_bell_drain(h.net_bell);
    uint8_t *buf;
    uint32_t cap;
    /* Net awake: a frame rings nothing. */
    ck_assert_int_eq(linkring_dev_rx_buf(&d, &buf, &cap), 0);
    linkring_dev_rx_push(&d, 64);
    linkring_dev_flush(&d);
    ck_assert_int_eq(poll(&p, 1, 0), 0);
    /* Net armed with a frame waiting: arm says "do not sleep". */
    ck_assert_int_ne(h.net->ops->arm(h.net), 0);
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
    ck_assert_int_eq(h.net->ops->arm(h.net), 0);   /* nothing left: may sleep */
    ck_assert_int_eq(linkring_dev_rx_buf(&d, &buf, &cap), 0);
    linkring_dev_rx_push(&d, 64);
    linkring_dev_flush(&d);
    ck_assert_int_eq(poll(&p, 1, 0), 1);           /* asleep: exactly then we ring */
    ck_assert_uint_eq(d.cnt.bells, 1);
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
    linkring_dev_detach(&d);
    hl_teardown(&h);
}
END_TEST

START_TEST(hostile_bad_descriptors_counted_and_dropped)
{
    struct hl h;
    const uint8_t *f;
    size_t len;
    hl_setup(&h);
    uint32_t fs = h.lay.g.frame_size;
    hl_put(&h.rx_p, 8 * fs, 60, 0);            /* a tx-pool buffer on the rx ring */
    hl_put(&h.rx_p, 0xfffff000u & ~(fs - 1), 60, 0);   /* far outside the region */
    hl_put(&h.rx_p, fs / 2, 60, 0);            /* misaligned */
    hl_put(&h.rx_p, fs, 0, 0);                 /* empty */
    hl_put(&h.rx_p, 2 * fs, (uint16_t)(fs + 1), 0);    /* longer than a buffer */
    hl_put(&h.rx_p, 3 * fs, 60, 0x8000);       /* reserved flags */
    hl_put(&h.rx_p, 4 * fs, 60, 0);            /* finally a good one */
    memset(h.bufs + 4 * fs, 0xab, 60);
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
    ck_assert_uint_eq(len, 60);
    ck_assert_uint_eq(f[0], 0xab);
    ck_assert_int_eq(hl_rx(&h, &f, &len), MOAT_E_AGAIN);
    struct linkring_counters c = hl_cnt(&h);
    ck_assert_uint_eq(c.bad[LINKRING_BAD_RANGE], 2);
    ck_assert_uint_eq(c.bad[LINKRING_BAD_ALIGN], 1);
    ck_assert_uint_eq(c.bad[LINKRING_BAD_LEN], 2);
    ck_assert_uint_eq(c.bad[LINKRING_BAD_FLAGS], 1);
    ck_assert_uint_eq(c.frames, 1);
    /* Only the good buffer came back on rx-free. */
    uint32_t n;
    ck_assert_int_eq(moat_ring_avail(&h.rxfree_c, &n), 0);
    ck_assert_uint_eq(n, HL_DESC);
    struct linkring_desc back;
    moat_ring_get(&h.rxfree_c, 0, &back, HL_DESC);
    ck_assert_uint_eq(back.off, 4 * fs);
    hl_teardown(&h);
}
END_TEST

START_TEST(hostile_duplicate_descriptor_in_one_batch)
{
    struct hl h;
    const uint8_t *f;
    size_t len;
    hl_setup(&h);
    uint32_t fs = h.lay.g.frame_size;
    hl_put(&h.rx_p, 2 * fs, 60, 0);
    hl_put(&h.rx_p, 2 * fs, 60, 0);            /* the same buffer again */
    hl_put(&h.rx_p, 3 * fs, 70, 0);
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
    ck_assert_uint_eq(len, 60);
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
    ck_assert_uint_eq(len, 70);
    ck_assert_int_eq(hl_rx(&h, &f, &len), MOAT_E_AGAIN);
    struct linkring_counters c = hl_cnt(&h);
    ck_assert_uint_eq(c.bad[LINKRING_BAD_DUP], 1);
    ck_assert_uint_eq(c.frames, 2);
    hl_teardown(&h);
}
END_TEST

START_TEST(hostile_rewrite_after_handover_does_not_reach_the_core)
{
    struct hl h;
    const uint8_t *f;
    size_t len;
    hl_setup(&h);
    uint32_t fs = h.lay.g.frame_size;
    memset(h.bufs + 5 * fs, 0x11, 100);
    hl_put(&h.rx_p, 5 * fs, 100, 0);
    int r = h.net->ops->rx_acquire(h.net, &f, &len);
    ck_assert_int_eq(r, 0);
    /* The link domain keeps writing the buffer it handed over... */
    memset(h.bufs + 5 * fs, 0x22, 100);
    /* ...and corrupts its descriptor slot after the fact. */
    memset((uint8_t *)h.base + h.lay.off_desc, 0xff, 8);
    /* The frame the core holds is a private copy: unchanged, and not in
     * the shared region. */
    ck_assert_uint_eq(f[0], 0x11);
    ck_assert_uint_eq(f[99], 0x11);
    ck_assert(f < (const uint8_t *)h.base || f >= (const uint8_t *)h.base + h.lay.size);
    h.net->ops->rx_release(h.net);
    hl_teardown(&h);
}
END_TEST

START_TEST(hostile_corrupt_index_cuts_the_link_until_restart)
{
    struct hl h;
    const uint8_t *f;
    size_t len;
    uint8_t *buf;
    size_t cap;
    hl_setup(&h);
    /* prod claims more frames than the ring holds. */
    atomic_store(&hl_sh(&h, LINKRING_RX)->prod, 8 * HL_DESC + HL_DESC);
    ck_assert_int_eq(hl_rx(&h, &f, &len), MOAT_E_AGAIN);
    ck_assert_uint_eq(atomic_load(&h.hdr->net_broken), 1);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(hl_rx(&h, &f, &len), MOAT_E_AGAIN);
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), MOAT_E_NOBUFS);
    ck_assert_uint_eq(hl_cnt(&h).bad[LINKRING_BAD_INDEX], 1);   /* counted once */
    ck_assert_int_eq(h.net->ops->arm(h.net), 0);   /* nothing to do: may sleep */
    /* The supervisor restarts the link domain: a new generation. */
    atomic_fetch_add(&h.hdr->gen, 1);
    ck_assert_int_ne(h.net->ops->arm(h.net), 0);
    ck_assert_uint_eq(atomic_load(&h.hdr->net_ack), 2);
    ck_assert_uint_eq(atomic_load(&h.hdr->net_broken), 0);
    ck_assert_uint_eq(atomic_load(&hl_sh(&h, LINKRING_RX)->prod), 0);
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
    ck_assert_int_eq(h.net->ops->tx_commit(h.net, 0), 0);
    /* tx-free consumer index lying too. */
    struct linkring_dev d;
    ck_assert_int_eq(linkring_dev_attach(&d, h.base, h.lay.size, &h.lay, h.net_bell, h.link_bell), 0);
    ck_assert_int_eq(linkring_dev_ready(&d), 1);
    atomic_store(&hl_sh(&h, LINKRING_TX)->cons, 12345);
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
    ck_assert_int_eq(h.net->ops->tx_commit(h.net, 100), MOAT_E_IO);
    ck_assert_uint_eq(atomic_load(&h.hdr->net_broken), 1);
    linkring_dev_detach(&d);
    hl_teardown(&h);
}
END_TEST

START_TEST(hostile_txfree_lies_about_ownership)
{
    struct hl h;
    uint8_t *buf;
    size_t cap;
    hl_setup(&h);
    uint32_t fs = h.lay.g.frame_size;
    /* Take every transmit buffer, so the net side must reclaim. */
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
        ck_assert_int_eq(h.net->ops->tx_commit(h.net, 60), 0);
    }
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), MOAT_E_NOBUFS);
    struct linkring_desc d0;
    moat_ring_get(&h.tx_c, 0, &d0, HL_DESC);
    moat_ring_consume(&h.tx_c, 8 * HL_DESC);         /* the fake link took all eight */
    hl_put(&h.txfree_p, 0, 0, 0);              /* an rx-pool buffer */
    hl_put(&h.txfree_p, d0.off, 0, 0);         /* a real one, handed back */
    hl_put(&h.txfree_p, d0.off, 0, 0);         /* ...twice */
    hl_put(&h.txfree_p, d0.off + 1, 0, 0);     /* misaligned */
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
    ck_assert_ptr_eq(buf, h.bufs + d0.off);
    ck_assert_int_eq(h.net->ops->tx_commit(h.net, 0), 0);
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
    ck_assert_int_eq(h.net->ops->tx_commit(h.net, 60), 0);
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), MOAT_E_NOBUFS);
    struct linkring_counters c = hl_cnt(&h);
    ck_assert_uint_eq(c.bad[LINKRING_BAD_RANGE], 1);
    ck_assert_uint_eq(c.bad[LINKRING_BAD_DUP], 1);
    ck_assert_uint_eq(c.bad[LINKRING_BAD_ALIGN], 1);
    (void)fs;
    hl_teardown(&h);
}
END_TEST

START_TEST(hostile_restart_returns_buffers_in_flight)
{
    struct hl h;
    uint8_t *buf;
    size_t cap;
    hl_setup(&h);
    /* Five frames given to a link domain that then dies with them. */
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
        ck_assert_int_eq(h.net->ops->tx_commit(h.net, 60), 0);
    }
    atomic_fetch_add(&h.hdr->gen, 1);
    /* All eight transmit buffers are usable again without any return. */
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
        ck_assert_int_eq(h.net->ops->tx_commit(h.net, 60), 0);
    }
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), MOAT_E_NOBUFS);
    ck_assert_uint_eq(hl_cnt(&h).resets, 2);   /* attach + restart */
    /* A new link domain starts clean and sees exactly the eight frames. */
    struct linkring_dev d;
    ck_assert_int_eq(linkring_dev_attach(&d, h.base, h.lay.size, &h.lay, h.net_bell, h.link_bell), 0);
    ck_assert_int_eq(linkring_dev_ready(&d), 1);
    const uint8_t *f;
    uint32_t len;
    int n = 0;
    while (linkring_dev_tx_peek(&d, &f, &len) == 0 && n < 100) {
        linkring_dev_tx_done(&d);
        n++;
    }
    ck_assert_int_eq(n, 8);
    linkring_dev_detach(&d);
    hl_teardown(&h);
}
END_TEST

/* splitmix64: a seeded sequence for the random scribbler. */
static uint64_t hl_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The device's word about a received frame crosses as the descriptor's
 * flags, only on the rx ring, only known bits; an honest link domain's
 * flags reach the core as moat_link.rx_flags of that frame alone. */
START_TEST(hostile_rx_flags_only_known_bits_on_the_rx_ring)
{
    struct hl h;
    const uint8_t *f;
    size_t len;
    hl_setup(&h);
    uint32_t fs = h.lay.g.frame_size;
    hl_put(&h.rx_p, 0, 60, MOAT_LINK_RX_CSUM_OK);
    hl_put(&h.rx_p, fs, 60, 0);
    hl_put(&h.rx_p, 2 * fs, 60, MOAT_LINK_RX_BAD);
    hl_put(&h.rx_p, 3 * fs, 60, 0x4u);                 /* unknown bit */
    /* rsvd on the rx ring: where the frame starts in its buffer (the TAP's
     * header before it), at most LINKRING_RX_SKIP_MAX, inside the buffer. */
    struct linkring_desc d[3] = { { 4 * fs, 60, 0, LINKRING_RX_SKIP_MAX + 1 },
                                  { 5 * fs, fs - 9, 0, 10 },
                                  { 6 * fs, 60, 0, 10 } };
    memset(h.bufs + 6 * fs, 0x11, 10);
    memset(h.bufs + 6 * fs + 10, 0x77, 60);
    for (int i = 0; i < 3; i++) {
        moat_ring_put(&h.rx_p, 0, &d[i], HL_DESC);
        moat_ring_publish(&h.rx_p, HL_DESC);
    }
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
    ck_assert_uint_eq(h.net->rx_flags, MOAT_LINK_RX_CSUM_OK);
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
    ck_assert_uint_eq(h.net->rx_flags, 0);
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);
    ck_assert_uint_eq(h.net->rx_flags, MOAT_LINK_RX_BAD);
    ck_assert_int_eq(hl_rx(&h, &f, &len), 0);          /* the frame after its 10 bytes */
    ck_assert_uint_eq(len, 60);
    ck_assert_uint_eq(f[0], 0x77);
    ck_assert_uint_eq(f[59], 0x77);
    ck_assert_int_eq(hl_rx(&h, &f, &len), MOAT_E_AGAIN);
    ck_assert_uint_eq(hl_cnt(&h).bad[LINKRING_BAD_FLAGS], 2);
    ck_assert_uint_eq(hl_cnt(&h).bad[LINKRING_BAD_LEN], 1);   /* skip + len past the buffer */
    /* A flag on the tx-free ring is refused: the buffer stays the link's. */
    uint8_t *buf;
    size_t cap;
    ck_assert_int_eq(h.net->ops->tx_acquire(h.net, &buf, &cap), 0);
    ck_assert_int_eq(h.net->ops->tx_commit(h.net, 60), 0);
    h.net->ops->flush(h.net);
    struct linkring_desc t;
    moat_ring_get(&h.tx_c, 0, &t, HL_DESC);
    moat_ring_consume(&h.tx_c, HL_DESC);
    ck_assert_uint_eq(t.flags, 0);
    hl_put(&h.txfree_p, t.off, 0, MOAT_LINK_RX_CSUM_OK);
    for (int i = 0; i < 8; i++) {   /* drain the pool: the flagged one never comes back */
        if (h.net->ops->tx_acquire(h.net, &buf, &cap) != 0)
            break;
        ck_assert_ptr_ne(buf, h.bufs + t.off);
        h.net->ops->tx_commit(h.net, 60);
    }
    ck_assert_uint_eq(hl_cnt(&h).bad[LINKRING_BAD_FLAGS], 3);
    hl_teardown(&h);
}
END_TEST

/* A region of geometry @p g with the net side and an honest link side
 * attached and started (the large-frame regions of TAPs with offloads). */
struct hl_big {
    struct linkring_layout lay;
    size_t size;
    void *base;
    int nb, lb;
    struct moat_link *net;
    struct linkring_dev d;
};

static void hl_big_setup(struct hl_big *h, const struct linkring_geom *g)
{
    ck_assert_int_eq(linkring_layout(g, &h->lay), 0);
    h->size = h->lay.size;
    h->base = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(h->base, MAP_FAILED);
    linkring_region_init(h->base, &h->lay);
    h->nb = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h->lb = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ck_assert_int_eq(linkring_net_link(h->base, h->size, &h->lay, dup(h->nb), dup(h->lb), 1500,
                                       &h->net), 0);
    ck_assert_int_eq(linkring_dev_attach(&h->d, h->base, h->size, &h->lay, h->nb, h->lb), 0);
    ck_assert_int_eq(linkring_dev_ready(&h->d), 1);
}

static void hl_big_teardown(struct hl_big *h)
{
    linkring_dev_detach(&h->d);
    h->net->ops->close(h->net);
    close(h->nb);
    close(h->lb);
    munmap(h->base, h->size);
}

/* Publish @p n descriptors on the tx ring as a lying net side would. */
static void hl_big_lie_tx(struct hl_big *h, const struct linkring_desc *d, int n)
{
    struct moat_ring tx;
    memset(&tx, 0, sizeof tx);
    uint32_t cap_b = h->lay.g.ring_slots * HL_DESC;
    uint8_t *hb = h->base;
    ck_assert_int_eq(moat_ring_attach(&tx, (struct moat_ring_sh *)(hb + h->lay.off_rings) + LINKRING_TX,
                                      hb + h->lay.off_desc + 2 * cap_b, cap_b, 0),
                     0);
    tx.local = atomic_load(&tx.sh->prod);
    for (int i = 0; i < n; i++) {
        moat_ring_put(&tx, 0, &d[i], HL_DESC);
        moat_ring_publish(&tx, HL_DESC);
    }
}

/* A region laid out for a TAP with receive offload carries a 64 KiB frame
 * in one buffer, its full length in the descriptor. */
START_TEST(hostile_offload_geometry_carries_64k_frames)
{
    struct linkring_geom g;
    struct hl_big h;
    linkring_geom_for_frame(14u + 4u + 65535u, 4, &g);
    ck_assert_uint_eq(g.frame_size, LINKRING_FRAME_MAX);
    hl_big_setup(&h, &g);
    uint8_t *buf;
    uint32_t cap;
    ck_assert_int_eq(linkring_dev_rx_buf(&h.d, &buf, &cap), 0);
    ck_assert_uint_ge(cap, 14u + 65535u);
    memset(buf, 0x5a, 14u + 65535u);
    buf[14u + 65535u - 1] = 0xa5;
    linkring_dev_rx_push_flags(&h.d, 14u + 65535u, MOAT_LINK_RX_CSUM_OK);
    linkring_dev_flush(&h.d);
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(h.net->ops->rx_acquire(h.net, &f, &len), 0);
    ck_assert_uint_eq(len, 14u + 65535u);
    ck_assert_uint_eq(f[len - 1], 0xa5);
    ck_assert_uint_eq(h.net->rx_flags, MOAT_LINK_RX_CSUM_OK);
    h.net->ops->rx_release(h.net);
    hl_big_teardown(&h);
    /* Too big for the pool's buffers: refused (the layout's own limit). */
    struct linkring_layout lay;
    g.frame_size = 2 * LINKRING_FRAME_MAX;
    ck_assert_int_eq(linkring_layout(&g, &lay), MOAT_E_RANGE);
}
END_TEST

/* A full-size TCP/IPv4 segment (1000 payload bytes) at @p seq into @p f. */
static size_t hl_tcp_seg(uint8_t *f, uint32_t seq, uint8_t flags)
{
    memset(f, 0, 14 + 20 + 20 + 1000);
    memset(f, 0x02, 12);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *th = ip + 20;
    ip[0] = 0x45;
    ip[2] = (20 + 20 + 1000) >> 8;
    ip[3] = (20 + 20 + 1000) & 0xff;
    ip[8] = 64;
    ip[9] = 6;
    th[4] = (uint8_t)(seq >> 24);
    th[5] = (uint8_t)(seq >> 16);
    th[6] = (uint8_t)(seq >> 8);
    th[7] = (uint8_t)seq;
    th[12] = 5u << 4;
    th[13] = flags;
    memset(th + 20, (int)(seq / 1000), 1000);
    return 14 + 20 + 20 + 1000;
}

/* Set up a region for GSO frames with geometry flags @p flags, and have
 * the net side send @p n consecutive full-size segments (seq 1000, 2000..). */
static void hl_big_gso_segs(struct hl_big *h, struct linkring_geom *g, uint32_t flags, uint32_t n)
{
    linkring_geom_for_frame(14u + 4u + 65535u, 8, g);
    g->flags |= flags;
    hl_big_setup(h, g);
    for (uint32_t k = 0; k < n; k++) {
        uint8_t *buf;
        size_t cap;
        ck_assert_int_eq(h->net->ops->tx_acquire(h->net, &buf, &cap), 0);
        ck_assert_uint_ge(cap, 1514);
        ck_assert_int_eq(h->net->ops->tx_commit(h->net, hl_tcp_seg(buf, 1000 * (k + 1), 0x10)), 0);
    }
}

/* A region for a TAP with offloads: the net side joins consecutive
 * segments into one GSO frame, one descriptor with the segment size; a
 * frame that cannot join goes as it is, in order. The link side takes the
 * GSO flag only in such a region, and only with a segment size. */
START_TEST(hostile_gso_frames_cross_as_one_descriptor)
{
    struct linkring_geom g;
    struct hl_big h;
    hl_big_gso_segs(&h, &g, LINKRING_GEOM_TX_GSO, 3);
    struct moat_link *net = h.net;
    struct linkring_dev *d = &h.d;
    uint8_t *buf;
    size_t cap;
    /* A SYN cannot join: the GSO frame goes first, then the SYN. */
    ck_assert_int_eq(net->ops->tx_acquire(net, &buf, &cap), 0);
    ck_assert_int_eq(net->ops->tx_commit(net, hl_tcp_seg(buf, 9000, 0x02)), 0);
    net->ops->flush(net);
    const uint8_t *f;
    uint32_t len;
    ck_assert_int_eq(linkring_dev_tx_peek(d, &f, &len), 0);
    ck_assert_uint_eq(len, 14 + 20 + 20 + 3000);
    ck_assert_uint_eq(d->cur_tx_gso, 1000);
    ck_assert_uint_eq((f[16] << 8) | f[17], 20 + 20 + 3000);   /* IP length of the whole */
    ck_assert_uint_eq(f[54 + 1000], 2);                          /* second payload in place */
    ck_assert_uint_eq(f[54 + 2999], 3);
    linkring_dev_tx_done(d);
    ck_assert_int_eq(linkring_dev_tx_peek(d, &f, &len), 0);
    ck_assert_uint_eq(len, 14 + 20 + 20 + 1000);
    ck_assert_uint_eq(d->cur_tx_gso, 0);
    ck_assert_uint_eq(f[14 + 20 + 13], 0x02);
    linkring_dev_tx_done(d);
    ck_assert_int_eq(linkring_dev_tx_peek(d, &f, &len), MOAT_E_AGAIN);
    linkring_dev_flush(d);
    /* A lying net side: GSO without a segment size, a size without GSO. */
    struct linkring_desc bad[2] = { { 8 * h.lay.g.frame_size, 100, LINKRING_TX_GSO, 0 },
                                    { 9 * h.lay.g.frame_size, 100, 0, 1000 } };
    hl_big_lie_tx(&h, bad, 2);
    uint64_t before = d->cnt.bad[LINKRING_BAD_FLAGS];
    ck_assert_int_eq(linkring_dev_tx_peek(d, &f, &len), MOAT_E_AGAIN);
    ck_assert_uint_eq(d->cnt.bad[LINKRING_BAD_FLAGS], before + 2);
    hl_big_teardown(&h);
    /* A GSO region needs buffers that hold a whole GSO frame. */
    struct linkring_layout lay;
    linkring_geom_for_mtu(1500, 8, &g);
    g.flags = LINKRING_GEOM_TX_GSO;
    ck_assert_int_eq(linkring_layout(&g, &lay), MOAT_E_RANGE);
}
END_TEST

/* With LINKRING_GEOM_TX_HEAD every transmit frame starts LINKRING_TX_HEAD
 * bytes into its buffer, room for the device's header (linkd_tx writes a
 * TAP's GSO frame from there, no copy). The net side builds GSO frames in
 * place (each segment written over the pending frame's tail, which is put
 * back): every payload byte of 70 segments arrives, in two GSO frames (the
 * first full at 65). A descriptor that would run past its buffer after
 * the head is refused. */
START_TEST(hostile_gso_in_place_with_head_room)
{
    struct linkring_geom g;
    struct hl_big h;
    hl_big_gso_segs(&h, &g, LINKRING_GEOM_TX_GSO | LINKRING_GEOM_TX_HEAD, 70);
    struct moat_link *net = h.net;
    struct linkring_dev *d = &h.d;
    net->ops->flush(net);
    const uint8_t *f;
    uint32_t len;
    uint32_t first = 0;
    for (int fr = 0; fr < 2; fr++) {
        uint32_t segs = fr == 0 ? 65 : 5;
        ck_assert_int_eq(linkring_dev_tx_peek(d, &f, &len), 0);
        ck_assert_uint_eq((size_t)(f - d->v.bufs) % h.lay.g.frame_size, LINKRING_TX_HEAD);
        ck_assert_uint_eq(len, 14 + 20 + 20 + 1000 * segs);
        ck_assert_uint_eq(d->cur_tx_gso, 1000);
        ck_assert_uint_eq((f[16] << 8) | f[17], 20 + 20 + 1000 * segs);
        ck_assert_uint_eq(((uint32_t)f[38] << 24 | (uint32_t)f[39] << 16 | f[40] << 8 | f[41]),
                          1000 * (first + 1));
        for (uint32_t k = 0; k < segs; k++)
            for (uint32_t j = 0; j < 1000; j++)
                ck_assert_uint_eq(f[54 + 1000 * k + j], (uint8_t)(first + k + 1));
        first += segs;
        linkring_dev_tx_done(d);
    }
    ck_assert_int_eq(linkring_dev_tx_peek(d, &f, &len), MOAT_E_AGAIN);
    linkring_dev_flush(d);
    /* A lying net side: a frame that fits the buffer but not after the head. */
    struct linkring_desc bad = { 8 * h.lay.g.frame_size, h.lay.g.frame_size - 8, 0, 0 };
    hl_big_lie_tx(&h, &bad, 1);
    uint64_t before = d->cnt.bad[LINKRING_BAD_LEN];
    ck_assert_int_eq(linkring_dev_tx_peek(d, &f, &len), MOAT_E_AGAIN);
    ck_assert_uint_eq(d->cnt.bad[LINKRING_BAD_LEN], before + 1);
    hl_big_teardown(&h);
}
END_TEST

START_TEST(hostile_random_scribbler_never_crashes)
{
    struct hl h;
    uint64_t seed = 0x6d6f6174;
    hl_setup(&h);
    uint8_t *rings = (uint8_t *)h.base + h.lay.off_rings;
    size_t rings_len = h.lay.buf_off - h.lay.off_rings;
    for (int round = 0; round < 20000; round++) {
        /* Scribble a few random bytes over indices and descriptors, or
         * publish plausible-looking descriptors. */
        uint64_t r = hl_rand(&seed);
        if (r & 1) {
            for (int k = 0; k < 4; k++) {
                uint64_t v = hl_rand(&seed);
                rings[v % rings_len] = (uint8_t)(v >> 32);
            }
        } else {
            struct moat_ring_sh *rx = hl_sh(&h, LINKRING_RX);
            uint32_t p = atomic_load(&rx->prod);
            struct linkring_desc d = { (uint32_t)(hl_rand(&seed) % 10) * 2048u,
                                       (uint32_t)(hl_rand(&seed) % 2100), 0, 0 };
            memcpy((uint8_t *)h.base + h.lay.off_desc + (p & (8 * HL_DESC - 1)), &d, HL_DESC);
            atomic_store(&rx->prod, p + HL_DESC);
        }
        if ((r >> 8) % 97 == 0)
            atomic_fetch_add(&h.hdr->gen, 1);   /* and restarts now and then */
        const uint8_t *f;
        size_t len;
        for (int k = 0; k < 4; k++) {
            if (hl_rx(&h, &f, &len) == 0) {
                ck_assert_uint_ge(len, 1);
                ck_assert_uint_le(len, 2048);
                volatile uint8_t x = f[len - 1];   /* must be readable */
                (void)x;
            }
        }
        uint8_t *buf;
        size_t cap;
        if (h.net->ops->tx_acquire(h.net, &buf, &cap) == 0) {
            ck_assert(buf >= h.bufs + 8 * 2048 && buf < h.bufs + 16 * 2048);
            buf[0] = 1;
            h.net->ops->tx_commit(h.net, 64);
        }
        h.net->ops->flush(h.net);
        h.net->ops->arm(h.net);
    }
    struct linkring_counters c = hl_cnt(&h);
    uint64_t bad = 0;
    for (int k = 0; k < LINKRING_BAD_COUNT; k++)
        bad += c.bad[k];
    ck_assert_uint_gt(bad, 0);
    hl_teardown(&h);
}
END_TEST

/* Split receive (moat_link.rx_split, as netloop asks): a TCP segment whose
 * checksum the link vouched for comes as a private copy of its headers and
 * its payload in place in the shared buffer; the link rewriting the buffer
 * after hand-over cannot change the headers the core parses. Without the
 * flag, or when the consumer did not ask, the frame is copied whole. */
START_TEST(hostile_split_rx_keeps_headers_private)
{
    struct linkring_geom g;
    struct hl_big h;
    linkring_geom_for_frame(14u + 4u + 65535u, 4, &g);
    hl_big_setup(&h, &g);
    const uint32_t flags[3] = { MOAT_LINK_RX_CSUM_OK, 0, MOAT_LINK_RX_CSUM_OK };
    for (int k = 0; k < 3; k++) {
        h.net->rx_split = k < 2;
        uint8_t *buf;
        uint32_t cap;
        ck_assert_int_eq(linkring_dev_rx_buf(&h.d, &buf, &cap), 0);
        size_t n = hl_tcp_seg(buf, 5000, 0x10);
        linkring_dev_rx_push_flags(&h.d, (uint32_t)n, flags[k]);
        linkring_dev_flush(&h.d);
        const uint8_t *f;
        size_t len;
        ck_assert_int_eq(h.net->ops->rx_acquire(h.net, &f, &len), 0);
        ck_assert_ptr_ne(f, buf);
        if (k == 0) {
            ck_assert_uint_eq(len, 14 + 20 + 20);
            ck_assert_ptr_eq(h.net->rx_pay, buf + len);
            ck_assert_uint_eq(h.net->rx_pay_len, 1000);
            /* The hostile link rewrites the headers after hand-over. */
            memset(buf, 0xee, len);
            ck_assert_uint_eq(f[12], 0x08);
            ck_assert_uint_eq(f[14 + 9], 6);
            ck_assert_uint_eq(f[14 + 20 + 7], 5000 & 0xff);
        } else {
            ck_assert_uint_eq(len, n);
            ck_assert_ptr_null(h.net->rx_pay);
            ck_assert_uint_eq(f[len - 1], 5);
        }
        h.net->ops->rx_release(h.net);
        ck_assert_ptr_null(h.net->rx_pay);
    }
    struct linkring_counters c;
    linkring_net_counters(h.net, &c);
    ck_assert_uint_eq(c.frames, 3);
    for (int i = 0; i < LINKRING_BAD_COUNT; i++)
        ck_assert_uint_eq(c.bad[i], 0);
    hl_big_teardown(&h);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile_link");
    TCase *tc = tcase_create("net_side");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hostile_honest_link_round_trip);
    tcase_add_test(tc, hostile_doorbell_only_when_armed);
    tcase_add_test(tc, hostile_bad_descriptors_counted_and_dropped);
    tcase_add_test(tc, hostile_duplicate_descriptor_in_one_batch);
    tcase_add_test(tc, hostile_rewrite_after_handover_does_not_reach_the_core);
    tcase_add_test(tc, hostile_corrupt_index_cuts_the_link_until_restart);
    tcase_add_test(tc, hostile_txfree_lies_about_ownership);
    tcase_add_test(tc, hostile_restart_returns_buffers_in_flight);
    tcase_add_test(tc, hostile_random_scribbler_never_crashes);
    tcase_add_test(tc, hostile_rx_flags_only_known_bits_on_the_rx_ring);
    tcase_add_test(tc, hostile_offload_geometry_carries_64k_frames);
    tcase_add_test(tc, hostile_split_rx_keeps_headers_private);
    tcase_add_test(tc, hostile_gso_frames_cross_as_one_descriptor);
    tcase_add_test(tc, hostile_gso_in_place_with_head_room);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(hostile_suite)
