/* SPDX-License-Identifier: MIT */
/*
 * The unit-test fixture (see fx.h): region, fake links, core, virtual
 * time, frame builders and parsers, and a single-threaded application
 * side of the socket region. Owns nothing of the core; reads core
 * internals (core/core_priv.h) only in fx_teardown's idle checks.
 */
#include "support/fx.h"
#include "support/fx6.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/msg_enc.h"
#include "core/core_priv.h"

const uint8_t fx_l_mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x01};
const uint8_t fx_r_mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x02};
const uint8_t fx_if1_mac[6] = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x01};
const uint8_t fx_if1_peer_mac[6] = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x02};
const uint8_t fx_bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const uint8_t fx_zero_mac[6] = {0};

/* Far more than any scenario needs; a core that keeps asking to be polled
 * at "now" would otherwise spin forever. */
#define FX_MAX_POLLS_PER_ADVANCE 1000000u
#define FX_MAX_TX_FRAMES 100000u

/* ---- checksums ----------------------------------------------------------- */

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
    while (len > 1) {
        sum += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t fx_cksum(const void *data, size_t len)
{
    return fold(sum_bytes(0, data, len));
}

uint16_t fx_l4_cksum(uint32_t src, uint32_t dst, uint8_t proto, const void *l4,
                     size_t len)
{
    uint8_t ph[12];
    wr32(ph, src);
    wr32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    wr16(ph + 10, (uint16_t)len);
    return fold(sum_bytes(sum_bytes(0, ph, sizeof ph), l4, len));
}

/* ---- the fake link ------------------------------------------------------- */

static int fxl_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    (void)l; (void)frame; (void)len;
    return MOAT_E_AGAIN;    /* tests call mcore_input themselves */
}

static void fxl_rx_release(struct moat_link *l) { (void)l; }

static int fxl_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct fx_link *fl = (struct fx_link *)l;
    if (fl->acquired) {
        /* The contract is one buffer at a time; remember the violation. */
        snprintf(fl->f->bad_frame, sizeof fl->f->bad_frame,
                 "if%u: tx_acquire while a buffer is already out", fl->ifx);
        return MOAT_E_AGAIN;
    }
    if (fl->fail_tx) {
        fl->fail_tx--;
        return MOAT_E_AGAIN;
    }
    fl->acquired = 1;
    memset(fl->buf, 0xcc, sizeof fl->buf);  /* stale bytes must never leak out */
    *buf = fl->buf;
    *cap = (size_t)l->mtu + 14u;
    return 0;
}

static int fxl_tx_commit(struct moat_link *l, size_t len)
{
    struct fx_link *fl = (struct fx_link *)l;
    struct fx *f = fl->f;
    if (!fl->acquired) {
        snprintf(f->bad_frame, sizeof f->bad_frame, "if%u: tx_commit without tx_acquire",
                 fl->ifx);
        return MOAT_E_IO;
    }
    fl->acquired = 0;
    if (len == 0)
        return 0;
    if (len > (size_t)l->mtu + 14u) {
        snprintf(f->bad_frame, sizeof f->bad_frame, "if%u: frame of %zu bytes > mtu+14",
                 fl->ifx, len);
        return MOAT_E_IO;
    }
    char why[200];
    if (!f->bad_frame[0] && fx_check_frame(f, fl->ifx, fl->buf, len, why, sizeof why))
        snprintf(f->bad_frame, sizeof f->bad_frame, "tx frame #%u on if%u: %s", f->n_tx,
                 fl->ifx, why);
    if (f->n_tx >= FX_MAX_TX_FRAMES) {
        snprintf(f->bad_frame, sizeof f->bad_frame, "more than %u frames captured",
                 FX_MAX_TX_FRAMES);
        return 0;
    }
    if (f->n_tx == f->tx_cap) {
        unsigned ncap = f->tx_cap ? f->tx_cap * 2 : 64;
        struct fx_frame *n = realloc(f->tx, ncap * sizeof *n);
        ck_assert_ptr_nonnull(n);
        f->tx = n;
        f->tx_cap = ncap;
    }
    struct fx_frame *fr = &f->tx[f->n_tx++];
    fr->ifx = fl->ifx;
    fr->t = f->now;
    fr->len = len;
    fr->data = malloc(len);
    ck_assert_ptr_nonnull(fr->data);
    memcpy(fr->data, fl->buf, len);
    return 0;
}

static int fxl_flush(struct moat_link *l) { (void)l; return 0; }
static void fxl_close(struct moat_link *l) { (void)l; }

static const struct moat_link_ops fx_link_ops = {
    .rx_acquire = fxl_rx_acquire,
    .rx_release = fxl_rx_release,
    .tx_acquire = fxl_tx_acquire,
    .tx_commit = fxl_tx_commit,
    .flush = fxl_flush,
    .wait_fd = NULL,
    .next_due_us = NULL,
    .arm = NULL,
    .close = fxl_close,
};

/* xorshift64*: deterministic, seeded from cfg.seed */
static void fx_rng(void *ctx, void *buf, size_t len)
{
    struct fx *f = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        uint64_t x = f->rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        f->rng_state = x;
        b[i] = (uint8_t)((x * 0x2545f4914f6cdd1dull) >> 56);
    }
}

/* ---- setup and teardown --------------------------------------------------- */

static void fx_if(struct moat_if_config *ic, uint32_t ip, const uint8_t mac[6])
{
    ic->ip = ip;
    ic->prefix = 24;
    ic->gw = 0;
    memcpy(ic->mac, mac, 6);
    ic->mtu = 1500;
    ic->link = MOAT_LINK_NONE;
    /* The IPv4 suites count frames exactly: no IPv6 start-up traffic
     * (DAD, MLD, router solicitations). IPv6 suites use fx6_config. */
    ic->no_ip6 = 1;
}

void fx_config(struct fx *f)
{
    memset(f, 0, sizeof *f);
    moat_config_defaults(&f->cfg);
    f->cfg.n_ifs = 1;
    fx_if(&f->cfg.ifs[0], FX_L_IP, fx_l_mac);
    f->cfg.max_sockets = 8;
    f->cfg.sock_rx_bytes = 16384;
    f->cfg.sock_tx_bytes = 16384;
    f->cfg.pkt_bufs = 32;
    f->cfg.arp_entries = 8;
    f->cfg.arp_queue = 4;
    f->cfg.reass_slots = 4;
    f->cfg.seed = 0x5eed5eedull;
    f->peer_ip[0] = FX_R_IP;
    memcpy(f->peer_mac[0], fx_r_mac, 6);
}

void fx_config2(struct fx *f)
{
    fx_config(f);
    f->cfg.n_ifs = 2;
    fx_if(&f->cfg.ifs[0], FX_IF1_IP, fx_if1_mac);
    fx_if(&f->cfg.ifs[1], FX_L_IP, fx_l_mac);
    f->peer_ip[0] = FX_IF1_PEER;
    memcpy(f->peer_mac[0], fx_if1_peer_mac, 6);
    f->peer_ip[1] = FX_R_IP;
    memcpy(f->peer_mac[1], fx_r_mac, 6);
}

static void *aligned64(size_t len)
{
    size_t rounded = (len + 63u) & ~(size_t)63u;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    ck_assert_ptr_nonnull(p);
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

static void fx_check_bad(struct fx *f)
{
    if (f->bad_frame[0])
        ck_abort_msg("%s", f->bad_frame);
}

void fx_start(struct fx *f)
{
    char why[128] = "";
    int rc = moat_config_check(&f->cfg, why, sizeof why);
    ck_assert_msg(rc == 0, "fixture config rejected: %s (%s)", moat_errname(rc), why);

    ck_assert_int_eq(moat_layout_for_config(&f->cfg, &f->lay), 0);
    f->region_size = f->lay.size;
    f->region = aligned64(f->region_size);
    moat_region_init(f->region, &f->lay);
    ck_assert_int_eq(moat_region_check(f->region, f->region_size, &f->lay), 0);

    uint8_t *base = f->region;
    ck_assert_int_eq(moat_ring_attach(&f->ctl, base + f->lay.off_ctl_sh,
                                      base + f->lay.off_ctl_data,
                                      f->lay.g.ctl_slots * MOAT_MSG_SIZE, 0), 0);
    ck_assert_int_eq(moat_ring_attach(&f->evt, base + f->lay.off_evt_sh,
                                      base + f->lay.off_evt_data,
                                      f->lay.g.ctl_slots * MOAT_MSG_SIZE, 0), 0);
    f->socks = calloc(f->lay.g.max_sockets, sizeof *f->socks);
    ck_assert_ptr_nonnull(f->socks);
    f->next_id = 1;

    struct mcore_env env;
    memset(&env, 0, sizeof env);
    for (unsigned i = 0; i < f->cfg.n_ifs; i++) {
        struct fx_link *fl = &f->links[i];
        fl->link.ops = &fx_link_ops;
        fl->link.mtu = f->cfg.ifs[i].mtu;
        memcpy(fl->link.mac, f->cfg.ifs[i].mac, 6);
        fl->link.has_mac = 1;
        fl->f = f;
        fl->ifx = i;
        env.links[i] = &fl->link;
    }
    f->rng_state = f->cfg.seed ? f->cfg.seed : 0x9e3779b97f4a7c15ull;
    env.rng = fx_rng;
    env.nd_no_start_delay = f->nd_start_delay ? 0 : 1;
    env.tcp_iss_hook = f->iss_hook ? 1 : 0;
    env.tcp_iss_fixed = f->iss_fixed;
    env.rng_ctx = f;
    env.region = f->region;
    env.layout = f->lay;

    f->core_len = mcore_mem_size(&f->cfg);
    ck_assert_uint_gt(f->core_len, 0);
    f->core_mem = aligned64(f->core_len);
    f->now = FX_T0;
    rc = mcore_init(f->core_mem, f->core_len, &f->cfg, &env, &f->core);
    ck_assert_msg(rc == 0, "mcore_init: %s", moat_errname(rc));
    ck_assert_ptr_nonnull(f->core);
    f->started = 1;
    /* What the network loop does when it starts (netloop.c): announce
     * every interface, then poll once. */
    mcore_arp_announce(f->core, f->now);
    fx_check_bad(f);
    fx_poll(f);
}

void fx_init(struct fx *f)
{
    fx_config(f);
    fx_start(f);
    fx_tx_clear(f);
}

void fx_init2(struct fx *f)
{
    fx_config2(f);
    fx_start(f);
    fx_tx_clear(f);
}

void fx_free(struct fx *f)
{
    fx_tx_clear(f);
    free(f->tx);
    free(f->socks);
    free(f->core_mem);
    free(f->region);
    f->tx = NULL;
    f->socks = NULL;
    f->core_mem = NULL;
    f->region = NULL;
    f->core = NULL;
    f->started = 0;
}

void fx_teardown(struct fx *f)
{
    if (!f->started)
        return;
    fx_check_bad(f);
    for (uint32_t i = 0; i < f->lay.g.max_sockets; i++)
        if (f->socks[i].handle)
            ck_assert_int_eq(fx_close(f, f->socks[i].handle), 0);

    if (!f->skip_idle_check) {
        uint64_t adv = f->teardown_advance_us;
        if (!adv)
            adv = ((uint64_t)f->cfg.reass_timeout_ms + 2ull * f->cfg.tcp_msl_ms + 10000ull)
                  * 1000ull;
        fx_advance(f, adv);

        struct moat_stats st = fx_stats(f);
        ck_assert_msg(st.pkt_in_use == 0, "RES-LEAK: %llu packet buffers still held",
                      (unsigned long long)st.pkt_in_use);
        const struct mcore *c = f->core;
        ck_assert_msg(c->reass_pkts == 0, "RES-LEAK: reassembly still holds %u buffers",
                      c->reass_pkts);
        for (uint32_t i = 0; i < c->arp.n; i++)
            ck_assert_msg(c->arp.tab[i].nq == 0 && c->arp.tab[i].q_head == NULL,
                          "RES-LEAK: ARP entry %u still queues %u packets", i,
                          c->arp.tab[i].nq);
        for (uint32_t i = 0; i < c->n_socks; i++)
            ck_assert_msg(c->socks[i].type == 0, "RES-LEAK: socket slot %u still in use", i);
        ck_assert_msg(!c->ctl_dead, "the core declared the fixture's ctl ring dead");
        fx_check_bad(f);
    }
    fx_free(f);
}

/* ---- time and input ------------------------------------------------------ */

void fx_poll(struct fx *f)
{
    /* mcore_poll asks to be called again at once when it left work for a
     * later batch (fairness); do that, as the network loop would. */
    for (unsigned n = 0;; n++) {
        ck_assert_msg(n < 100000u, "mcore_poll never settles at %llu",
                      (unsigned long long)f->now);
        f->next_due = mcore_poll(f->core, f->now);
        fx_check_bad(f);
        if (f->next_due > f->now)
            break;
    }
}

void fx_advance(struct fx *f, uint64_t us)
{
    uint64_t target = f->now + us;
    unsigned n = 0;
    while (f->next_due <= target) {
        ck_assert_msg(++n < FX_MAX_POLLS_PER_ADVANCE,
                      "mcore_poll keeps asking to run (due %llu, now %llu)",
                      (unsigned long long)f->next_due, (unsigned long long)f->now);
        if (f->next_due > f->now)
            f->now = f->next_due;
        fx_poll(f);     /* returns with next_due > now */
    }
    /* No poll at the target itself: like the network loop, the fixture
     * calls the core only for input, application requests and the
     * deadlines it asked for, so a deadline the core forgets to report is
     * seen by the tests as a timer that never fires. */
    f->now = target;
}

void fx_inject(struct fx *f, unsigned ifx, const void *frame, size_t len)
{
    mcore_input(f->core, ifx, frame, len, f->now);
    fx_check_bad(f);
    fx_poll(f);
}

struct moat_stats fx_stats(const struct fx *f)
{
    struct moat_stats st;
    mcore_stats(f->core, &st);
    return st;
}

uint64_t fx_drop(const struct fx *f, enum moat_drop reason)
{
    struct moat_stats st = fx_stats(f);
    return st.drops[reason];
}

uint64_t fx_drops_total(const struct fx *f)
{
    struct moat_stats st = fx_stats(f);
    return moat_stats_drops_total(&st);
}

void fx_arp_seed(struct fx *f)
{
    for (unsigned i = 0; i < f->cfg.n_ifs; i++)
        if (f->peer_ip[i])
            ck_assert_int_eq(mcore_arp_add_static(f->core, i, f->peer_ip[i],
                                                  f->peer_mac[i]), 0);
}

void fx_arp_reply_from(struct fx *f, unsigned ifx, uint32_t ip, const uint8_t mac[6])
{
    uint8_t fr[64];
    const uint8_t *lmac = f->links[ifx].link.mac;
    size_t n = fx_arp(fr, 2, mac, ip, lmac, f->cfg.ifs[ifx].ip, lmac, false);
    /* the builder uses the sender's MAC as Ethernet source */
    fx_inject(f, ifx, fr, n);
}

/* ---- captured frames -------------------------------------------------------- */

unsigned fx_ntx(const struct fx *f) { return f->n_tx; }

const struct fx_frame *fx_tx(const struct fx *f, unsigned i)
{
    ck_assert_msg(i < f->n_tx, "frame #%u asked, only %u captured", i, f->n_tx);
    return &f->tx[i];
}

void fx_tx_clear(struct fx *f)
{
    for (unsigned i = 0; i < f->n_tx; i++)
        free(f->tx[i].data);
    f->n_tx = 0;
}

bool fx_parse(const uint8_t *fr, size_t len, struct fx_pkt *p)
{
    struct hdr_eth e;
    memset(p, 0, sizeof *p);
    p->raw = fr;
    p->len = len;
    if (hdr_eth_parse(fr, len, &e) != HDR_OK)
        return false;
    memcpy(p->eth_dst, e.dst, 6);
    memcpy(p->eth_src, e.src, 6);
    p->eth_type = e.type;
    const uint8_t *b = fr + HDR_ETH_LEN;
    size_t n = len - HDR_ETH_LEN;
    if (p->eth_type == 0x0806 && n >= 28) {
        p->is_arp = true;
        p->arp_op = rd16(b + 6);
        memcpy(p->arp_sha, b + 8, 6);
        p->arp_spa = rd32(b + 14);
        memcpy(p->arp_tha, b + 18, 6);
        p->arp_tpa = rd32(b + 24);
        return true;
    }
    /* The header layer's view (core/hdr.h); its own checksum is checked
     * apart (fx_check_frame, with the fixture's independent sum). */
    struct hdr_ip4 ip;
    int err = p->eth_type == 0x0800 ? hdr_ip4_parse(b, n, HDR_IP4_NO_CSUM, &ip) : HDR_E_SHORT;
    if (err == HDR_E_SHORT)
        return true;
    p->is_ip = true;
    p->ip_err = err;
    p->ip_hdr = b;
    p->ip_ver = b[0] >> 4;
    p->ip_hl = ip.hlen;
    p->tos = ip.tos;
    p->tot_len = ip.tot_len;
    p->id = ip.id;
    p->df = (ip.frag & HDR_IP4_DF) != 0;
    p->mf = (ip.frag & HDR_IP4_MF) != 0;
    p->frag_off = (uint16_t)((ip.frag & HDR_IP4_OFFMASK) * 8);
    p->ttl = ip.ttl;
    p->proto = ip.proto;
    p->src = ip.src;
    p->dst = ip.dst;
    if (err != HDR_OK) {
        p->l4 = NULL;
        return true;
    }
    p->l4 = b + p->ip_hl;
    p->l4_len = p->tot_len - p->ip_hl;
    if (p->mf || p->frag_off)
        return true;
    if (p->proto == 1 && p->l4_len >= 8) {
        p->is_icmp = true;
        p->icmp_type = p->l4[0];
        p->icmp_code = p->l4[1];
        p->icmp_id = rd16(p->l4 + 4);
        p->icmp_seq = rd16(p->l4 + 6);
        p->icmp_rest = rd32(p->l4 + 4);
        p->icmp_body = p->l4 + 8;
        p->icmp_body_len = p->l4_len - 8;
    } else if (p->proto == 17) {
        struct hdr_udp u;
        int uerr = hdr_udp_parse(p->l4, p->l4_len, &u);
        if (uerr == HDR_E_SHORT)
            return true;
        p->is_udp = true;
        p->sport = u.sport;
        p->dport = u.dport;
        p->udp_len = u.len;
        p->udp_cksum = u.csum;
        p->udp_data = p->l4 + HDR_UDP_LEN;
        /* A bad length field still shows the bytes that came. */
        p->udp_data_len = (uerr == HDR_OK ? u.len : p->l4_len) - HDR_UDP_LEN;
    }
    return true;
}

struct fx_pkt fx_tx_pkt(const struct fx *f, unsigned i)
{
    struct fx_pkt p;
    const struct fx_frame *fr = fx_tx(f, i);
    ck_assert(fx_parse(fr->data, fr->len, &p));
    p.ifx = fr->ifx;
    return p;
}

const char *fx_check_frame(const struct fx *f, unsigned ifx, const uint8_t *fr,
                           size_t len, char *why, size_t whylen)
{
#define BAD(...) do { snprintf(why, whylen, __VA_ARGS__); return why; } while (0)
    struct fx_pkt p;
    if (!fx_parse(fr, len, &p))
        BAD("shorter than an Ethernet header (%zu bytes)", len);
    if (memcmp(p.eth_src, f->links[ifx].link.mac, 6) != 0)
        BAD("Ethernet source is not the interface MAC");
    if (p.eth_type == 0x0806) {
        if (len < 42)
            BAD("ARP frame of %zu bytes", len);
        const uint8_t *a = fr + 14;
        if (rd16(a) != 1 || rd16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
            BAD("ARP header is not Ethernet/IPv4");
        if (p.arp_op != 1 && p.arp_op != 2)
            BAD("ARP opcode %u", p.arp_op);
        if (memcmp(p.arp_sha, f->links[ifx].link.mac, 6) != 0)
            BAD("ARP sender MAC is not ours");
        return NULL;
    }
    if (p.eth_type == 0x86dd)
        return fx6_check_frame(fr, len, why, whylen);   /* support/fx6.c */
    if (p.eth_type != 0x0800)
        BAD("EtherType 0x%04x", p.eth_type);
    if (!p.is_ip)
        BAD("IPv4 frame of %zu bytes", len);
    if (p.ip_err != HDR_OK)
        BAD("IPv4 header: %s (version %u, header %u, total %u, frame %zu)",
            hdr_strerror(p.ip_err), p.ip_ver, p.ip_hl, p.tot_len, len);
    if (fx_cksum(p.ip_hdr, p.ip_hl) != 0)
        BAD("IPv4 header checksum wrong");
    if (p.ttl == 0)
        BAD("TTL 0");
    if (p.src == 0 && !f->allow_zero_src)
        BAD("IPv4 source 0.0.0.0");
    if (p.is_udp) {
        if (p.udp_len != p.l4_len)
            BAD("UDP length %u != IP payload %zu", p.udp_len, p.l4_len);
        if (p.udp_cksum == 0) {
            if (!f->allow_zero_udp_cksum)
                BAD("UDP checksum not computed (0)");
        } else if (fx_l4_cksum(p.src, p.dst, 17, p.l4, p.l4_len) != 0) {
            BAD("UDP checksum wrong");
        }
    } else if (p.proto == 17 && !p.mf && !p.frag_off) {
        BAD("UDP datagram shorter than its header");
    }
    if (p.is_icmp && fx_cksum(p.l4, p.l4_len) != 0)
        BAD("ICMP checksum wrong (type %u)", p.icmp_type);
    return NULL;
#undef BAD
}

void fx_expect_arp_request(const struct fx *f, unsigned i, uint32_t target)
{
    struct fx_pkt p = fx_tx_pkt(f, i);
    ck_assert_msg(p.is_arp, "frame #%u is not ARP (type 0x%04x)", i, p.eth_type);
    ck_assert_uint_eq(p.arp_op, 1);
    ck_assert_mem_eq(p.eth_dst, fx_bcast_mac, 6);
    ck_assert_uint_eq(p.arp_tpa, target);
    ck_assert_uint_eq(p.arp_spa, f->cfg.ifs[p.ifx].ip);
}

/* ---- frame builders ------------------------------------------------------- */

size_t fx_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    hdr_eth_emit(buf, dst, src, type);
    return HDR_ETH_LEN;
}

size_t fx_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t spa,
              const uint8_t tha[6], uint32_t tpa, const uint8_t *eth_dst, bool pad)
{
    if (!eth_dst)
        eth_dst = op == 1 ? fx_bcast_mac : tha;
    fx_eth(buf, eth_dst, sha, 0x0806);
    uint8_t *a = buf + 14;
    wr16(a, 1);
    wr16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    wr16(a + 6, op);
    memcpy(a + 8, sha, 6);
    wr32(a + 14, spa);
    memcpy(a + 18, tha ? tha : fx_zero_mac, 6);
    wr32(a + 24, tpa);
    if (!pad)
        return 42;
    memset(buf + 42, 0xa5, 18);
    return 60;
}

size_t fx_ip4(const struct fx *f, unsigned ifx, uint8_t *buf, const struct fx_ip *ip,
              const void *l4, size_t l4_len)
{
    const uint8_t *dmac = ip->eth_dst ? ip->eth_dst : f->links[ifx].link.mac;
    const uint8_t *smac = ip->eth_src ? ip->eth_src : f->peer_mac[ifx];
    fx_eth(buf, dmac, smac, 0x0800);
    uint8_t *h = buf + 14;
    size_t hl = 20 + ip->opt_len;
    int ihl = ip->ihl ? ip->ihl : (int)(hl / 4);
    h[0] = (uint8_t)((ip->version << 4) | (ihl & 0x0f));
    h[1] = ip->tos;
    wr16(h + 2, (uint16_t)(ip->tot_len ? (size_t)ip->tot_len : hl + l4_len));
    wr16(h + 4, ip->id);
    uint16_t fo = (uint16_t)((ip->frag_off / 8) & 0x1fff);
    if (ip->mf)
        fo |= 0x2000;
    if (ip->df)
        fo |= 0x4000;
    wr16(h + 6, fo);
    h[8] = ip->ttl;
    h[9] = ip->proto;
    wr16(h + 10, 0);
    wr32(h + 12, ip->src);
    wr32(h + 16, ip->dst);
    if (ip->opt_len)
        memcpy(h + 20, ip->opts, ip->opt_len);
    uint16_t ck = fx_cksum(h, hl);
    if (ip->bad_cksum)
        ck = (uint16_t)(ck ^ 0x0101u);
    wr16(h + 10, ck);
    if (l4_len)
        memcpy(h + hl, l4, l4_len);
    size_t n = 14 + hl + l4_len;
    if (ip->pad_to > n) {
        memset(buf + n, 0xa5, ip->pad_to - n);
        n = ip->pad_to;
    }
    return n;
}

size_t fx_udp_seg(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport,
                  uint16_t dport, const void *data, size_t len, enum fx_ck ck,
                  int len_delta)
{
    const struct hdr_udp h = {.sport = sport, .dport = dport,
                               .len = (uint16_t)((int)(8 + len) + len_delta), .csum = 0};
    hdr_udp_emit(&h, out);
    if (len)
        memcpy(out + 8, data, len);
    if (ck != FX_CK_ZERO) {
        /* Computed as a sender with this header would: the pseudo-header
         * carries the UDP length field and the sum covers that many bytes
         * (capped to the bytes we have). */
        int ulen = (int)(8 + len) + len_delta;
        size_t covered = ulen < 8 ? 8 : (size_t)ulen;
        if (covered > 8 + len)
            covered = 8 + len;
        uint8_t ph[12];
        wr32(ph, src);
        wr32(ph + 4, dst);
        ph[8] = 0;
        ph[9] = 17;
        wr16(ph + 10, (uint16_t)ulen);
        uint16_t c = fold(sum_bytes(sum_bytes(0, ph, sizeof ph), out, covered));
        if (c == 0)
            c = 0xffff;
        if (ck == FX_CK_BAD)
            c = (uint16_t)(c ^ 0x00ff);
        wr16(out + 6, c);
    }
    return 8 + len;
}

size_t fx_icmp_echo(uint8_t *out, uint8_t type, uint16_t id, uint16_t seq,
                    const void *data, size_t len, bool bad_cksum)
{
    out[0] = type;
    out[1] = 0;
    wr16(out + 2, 0);
    wr16(out + 4, id);
    wr16(out + 6, seq);
    if (len)
        memcpy(out + 8, data, len);
    uint16_t c = fx_cksum(out, 8 + len);
    if (bad_cksum)
        c = (uint16_t)(c ^ 0x0101u);
    wr16(out + 2, c);
    return 8 + len;
}

size_t fx_udp_frame(const struct fx *f, unsigned ifx, uint8_t *buf,
                    const struct fx_ip *ip, uint16_t sport, uint16_t dport,
                    const void *data, size_t len, enum fx_ck ck)
{
    uint8_t *seg = malloc(8 + len);
    ck_assert_ptr_nonnull(seg);
    size_t n = fx_udp_seg(seg, ip->src, ip->dst, sport, dport, data, len, ck, 0);
    struct fx_ip h = *ip;
    h.proto = 17;
    size_t fl = fx_ip4(f, ifx, buf, &h, seg, n);
    free(seg);
    return fl;
}

void fx_inject_udp(struct fx *f, uint16_t sport, uint16_t dport, const void *data,
                   size_t len)
{
    uint8_t *fr = malloc(14 + 60 + 8 + len);
    ck_assert_ptr_nonnull(fr);
    struct fx_ip ip = FX_IP(.proto = 17);
    size_t n = fx_udp_frame(f, 0, fr, &ip, sport, dport, data, len, FX_CK_OK);
    fx_inject(f, 0, fr, n);
    free(fr);
}

void fx_inject_echo(struct fx *f, uint16_t id, uint16_t seq, const void *data, size_t len)
{
    uint8_t *seg = malloc(8 + len);
    uint8_t *fr = malloc(14 + 60 + 8 + len);
    ck_assert_ptr_nonnull(seg);
    ck_assert_ptr_nonnull(fr);
    size_t sl = fx_icmp_echo(seg, 8, id, seq, data, len, false);
    struct fx_ip ip = FX_IP(.proto = 1);
    size_t n = fx_ip4(f, 0, fr, &ip, seg, sl);
    fx_inject(f, 0, fr, n);
    free(seg);
    free(fr);
}

/* ---- the application side --------------------------------------------------- */

int fx_call(struct fx *f, struct moat_msg *req, struct moat_msg *resp)
{
    /* The client's own encoding (app/msg_enc.h), with the waiting replaced
     * by one poll of the core. */
    int r = app_req_put(&f->ctl, req, f->next_id++);
    ck_assert_msg(r == 0, "ctl ring full or broken (%d)", r);
    fx_poll(f);

    /* Bounded: the evt ring holds at most ctl_slots messages. */
    for (uint32_t n = 0; n <= f->lay.g.ctl_slots; n++) {
        struct moat_msg m;
        r = app_evt_take(&f->evt, &m);
        if (r == MOAT_E_AGAIN)
            break;
        ck_assert_int_eq(r, 0);
        if (app_resp_answers(&m, req->id)) {
            *resp = m;
            return m.result;
        }
    }
    ck_abort_msg("no RESP for %s (id %u)", moat_msg_name(req->type), req->id);
    return MOAT_E_PEER;
}

static struct fx_app_sock *fx_as(struct fx *f, uint32_t h)
{
    uint32_t idx = moat_handle_idx(h);
    if (h == 0 || idx >= f->lay.g.max_sockets || f->socks[idx].handle != h)
        return NULL;
    return &f->socks[idx];
}

int fx_sock_open(struct fx *f, int type, uint32_t *handle)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = MOAT_MSG_OPEN;
    req.body.open.type = (uint32_t)type;
    int rc = fx_call(f, &req, &resp);
    if (rc != 0)
        return rc;
    uint32_t h = resp.body.resp.sock;
    uint32_t idx = moat_handle_idx(h);
    ck_assert_msg(h != 0 && moat_handle_gen(h) != 0, "OPEN returned handle 0x%x", h);
    ck_assert_uint_lt(idx, f->lay.g.max_sockets);
    ck_assert_msg(f->socks[idx].handle == 0, "OPEN reused slot %u still open here", idx);
    struct fx_app_sock *as = &f->socks[idx];
    struct moat_sock_sh *sh = moat_region_sock(f->region, &f->lay, idx);
    /* The core resets both rings of a slot it hands out; our own index
     * starts where the shared copy of it says (0 after a reset). */
    ck_assert_int_eq(moat_ring_attach(&as->rx, &sh->rx,
                                      moat_region_rx_data(f->region, &f->lay, idx),
                                      f->lay.g.sock_rx_bytes,
                                      atomic_load(&sh->rx.cons)), 0);
    ck_assert_int_eq(moat_ring_attach(&as->tx, &sh->tx,
                                      moat_region_tx_data(f->region, &f->lay, idx),
                                      f->lay.g.sock_tx_bytes,
                                      atomic_load(&sh->tx.prod)), 0);
    as->handle = h;
    *handle = h;
    return 0;
}

int fx_udp_open(struct fx *f, uint32_t *handle)
{
    return fx_sock_open(f, MOAT_SOCK_DGRAM, handle);
}

static int fx_addr_call(struct fx *f, uint16_t type, uint32_t h, uint32_t ip,
                        uint16_t port)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = type;
    req.sock = h;
    req.body.addr.ip = ip;
    req.body.addr.port = port;
    return fx_call(f, &req, &resp);
}

int fx_addr6_call(struct fx *f, uint16_t type, uint32_t h, const uint8_t ip6[16],
                  uint32_t scope, uint16_t port)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = type;
    req.sock = h;
    req.body.addr.family = MOAT_AF_INET6;
    memcpy(req.body.addr.ip6, ip6, 16);
    req.body.addr.scope_id = scope;
    req.body.addr.port = port;
    return fx_call(f, &req, &resp);
}

int fx_bind(struct fx *f, uint32_t h, uint32_t ip, uint16_t port)
{
    return fx_addr_call(f, MOAT_MSG_BIND, h, ip, port);
}

int fx_connect(struct fx *f, uint32_t h, uint32_t ip, uint16_t port)
{
    return fx_addr_call(f, MOAT_MSG_CONNECT, h, ip, port);
}

int fx_sock_end(struct fx *f, uint32_t h, uint16_t type)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = type;
    req.sock = h;
    int rc = fx_call(f, &req, &resp);
    struct fx_app_sock *as = fx_as(f, h);
    if (as)
        memset(as, 0, sizeof *as);   /* the handle is gone whatever happened */
    return rc;
}

int fx_close(struct fx *f, uint32_t h)
{
    return fx_sock_end(f, h, MOAT_MSG_CLOSE);
}

int fx_setopt(struct fx *f, uint32_t h, int opt, int64_t value)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = MOAT_MSG_SETOPT;
    req.sock = h;
    req.body.opt.opt = (uint32_t)opt;
    req.body.opt.value = value;
    return fx_call(f, &req, &resp);
}

int fx_getopt(struct fx *f, uint32_t h, int opt, int64_t *value)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = MOAT_MSG_GETOPT;
    req.sock = h;
    req.body.opt.opt = (uint32_t)opt;
    int rc = fx_call(f, &req, &resp);
    if (rc == 0 && value)
        *value = resp.body.resp.value;
    return rc;
}

int fx_name(struct fx *f, uint32_t h, struct moat_m_addr *local, struct moat_m_addr *remote)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = MOAT_MSG_NAME;
    req.sock = h;
    int rc = fx_call(f, &req, &resp);
    if (rc == 0) {
        if (local)
            *local = resp.body.resp.local;
        if (remote)
            *remote = resp.body.resp.remote;
    }
    return rc;
}

int fx_stats_call(struct fx *f, struct moat_stats *out)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = MOAT_MSG_STATS;
    int rc = fx_call(f, &req, &resp);
    if (rc == 0 && out)
        *out = moat_region_hdr(f->region)->stats;
    return rc;
}

uint32_t fx_udp_bound(struct fx *f, uint32_t ip, uint16_t port)
{
    uint32_t h = 0;
    int rc = fx_udp_open(f, &h);
    ck_assert_msg(rc == 0, "UDP OPEN: %s", moat_errname(rc));
    rc = fx_bind(f, h, ip, port);
    ck_assert_msg(rc == 0, "UDP BIND %08x:%u: %s", ip, port, moat_errname(rc));
    return h;
}

static uint32_t rec_size(size_t len)
{
    uint32_t n = (uint32_t)(sizeof(struct moat_dgram_hdr) + len);
    return (n + FX_DGRAM_ALIGN - 1u) & ~(FX_DGRAM_ALIGN - 1u);
}

int fx_sendto(struct fx *f, uint32_t h, uint32_t ip, uint16_t port, const void *data,
              size_t len)
{
    struct moat_dgram_hdr dh = {.ip = ip, .port = port};
    return fx_send_rec(f, h, &dh, data, len);
}

int fx_sendto6(struct fx *f, uint32_t h, const uint8_t ip6[16], uint32_t scope,
               uint16_t port, const void *data, size_t len)
{
    struct moat_dgram_hdr dh = {.port = port, .family = MOAT_AF_INET6, .scope_id = scope};
    memcpy(dh.ip6, ip6, 16);
    return fx_send_rec(f, h, &dh, data, len);
}

int fx_send_rec(struct fx *f, uint32_t h, const struct moat_dgram_hdr *hdr,
                const void *data, size_t len)
{
    struct fx_app_sock *as = fx_as(f, h);
    if (!as)
        return MOAT_E_BADHANDLE;
    if (len > 0xffffu)
        return MOAT_E_MSGSIZE;
    uint32_t space = 0;
    ck_assert_int_eq(moat_ring_space(&as->tx, &space), 0);
    uint32_t need = rec_size(len);
    if (need > space)
        return MOAT_E_NOBUFS;
    struct moat_dgram_hdr dh = *hdr;
    dh.len = (uint16_t)len;
    moat_ring_put(&as->tx, 0, &dh, sizeof dh);
    if (len)
        moat_ring_put(&as->tx, sizeof dh, data, (uint32_t)len);
    moat_ring_publish(&as->tx, need);
    fx_poll(f);
    return 0;
}

int fx_recvfrom(struct fx *f, uint32_t h, void *buf, size_t cap, size_t *got,
                uint32_t *ip, uint16_t *port)
{
    struct moat_dgram_hdr dh;
    int rc = fx_recv_rec(f, h, buf, cap, got, &dh);
    if (rc == 0 && ip)
        *ip = dh.ip;
    if (rc == 0 && port)
        *port = dh.port;
    return rc;
}

int fx_recv_rec(struct fx *f, uint32_t h, void *buf, size_t cap, size_t *got,
                struct moat_dgram_hdr *out)
{
    struct fx_app_sock *as = fx_as(f, h);
    if (!as)
        return MOAT_E_BADHANDLE;
    uint32_t avail = 0;
    ck_assert_int_eq(moat_ring_avail(&as->rx, &avail), 0);
    if (avail == 0)
        return MOAT_E_AGAIN;
    if (avail < sizeof(struct moat_dgram_hdr))
        return MOAT_E_PEER;
    struct moat_dgram_hdr dh;
    moat_ring_get(&as->rx, 0, &dh, sizeof dh);
    uint32_t need = rec_size(dh.len);
    if (need > avail)
        return MOAT_E_PEER;
    size_t n = dh.len < cap ? dh.len : cap;
    if (n)
        moat_ring_get(&as->rx, sizeof dh, buf, (uint32_t)n);
    moat_ring_consume(&as->rx, need);
    struct moat_sock_sh *sh = moat_region_sock(f->region, &f->lay, moat_handle_idx(h));
    atomic_store(&sh->rx_read, as->rx.local);
    if (got)
        *got = dh.len;
    *out = dh;
    return 0;
}

uint32_t fx_rx_avail(struct fx *f, uint32_t h)
{
    struct fx_app_sock *as = fx_as(f, h);
    ck_assert_ptr_nonnull(as);
    uint32_t avail = 0;
    ck_assert_int_eq(moat_ring_avail(&as->rx, &avail), 0);
    return avail;
}

unsigned fx_rx_count(struct fx *f, uint32_t h)
{
    struct fx_app_sock *as = fx_as(f, h);
    ck_assert_ptr_nonnull(as);
    uint32_t avail = 0, off = 0;
    unsigned n = 0;
    ck_assert_int_eq(moat_ring_avail(&as->rx, &avail), 0);
    while (off + sizeof(struct moat_dgram_hdr) <= avail) {
        struct moat_dgram_hdr dh;
        moat_ring_get(&as->rx, off, &dh, sizeof dh);
        uint32_t need = rec_size(dh.len);
        ck_assert_msg(off + need <= avail, "truncated datagram record in rx ring");
        off += need;
        n++;
    }
    ck_assert_msg(off == avail, "stray bytes after the last datagram record");
    return n;
}

uint32_t fx_sock_status(struct fx *f, uint32_t h)
{
    struct moat_sock_sh *sh = moat_region_sock(f->region, &f->lay, moat_handle_idx(h));
    return atomic_load(&sh->status);
}

int32_t fx_sock_error(struct fx *f, uint32_t h)
{
    struct moat_sock_sh *sh = moat_region_sock(f->region, &f->lay, moat_handle_idx(h));
    return atomic_load(&sh->error);
}
