/* SPDX-License-Identifier: MIT */
/*
 * Shared support of the fuzz harnesses (see fz.h): the stack and its test
 * link, the application's side of the ctl ring, checksums and frame
 * builders, the end-of-run invariants, and (in replay builds) main.
 */
#include "fz.h"
#include "app/msg_enc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const uint8_t fz_l_mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x01};
const uint8_t fz_r_mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x02};

const char *fz_current = "(fuzzer input)";

_Noreturn void fz_fail(const char *what)
{
    fprintf(stderr, "fuzz: %s: %s\n", fz_current, what);
    abort();
}

/* FZ_VERBOSE=1 in the environment: one line of counters per input (what
 * a seed reached), from fz_finish. */
static int fz_verbose(void)
{
    static int v = -1;
    if (v < 0)
        v = getenv("FZ_VERBOSE") != NULL;
    return v;
}

/* ---- checksums ------------------------------------------------------------ */

uint16_t fz_sum16(uint32_t s, const uint8_t *p, size_t n)
{
    while (n > 1) {
        s += rd16(p);
        p += 2;
        n -= 2;
        if (s > 0x7fffffffu)
            s = (s & 0xffff) + (s >> 16);
    }
    if (n)
        s += (uint32_t)p[0] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

uint16_t fz_l4sum(const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t n)
{
    uint8_t ph[12];
    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = proto;
    wr16(ph + 10, (uint16_t)n);
    uint32_t s = fz_sum16(0, ph, sizeof ph);
    return (uint16_t)~fz_sum16(s, l4, n);
}

/* IPv6 upper-layer checksum (RFC 8200 8.1) of @p l4 in datagram @p ip. */
uint16_t fz_l6sum(const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t n)
{
    uint8_t ph[8] = {0};
    wr16(ph + 2, (uint16_t)n);
    ph[7] = proto;
    uint32_t s = fz_sum16(0, ip + 8, 32);
    s = fz_sum16(s, ph, sizeof ph);
    return (uint16_t)~fz_sum16(s, l4, n);
}

/* Where the upper layer of an IPv6 datagram starts (hop-by-hop, routing
 * and destination options walked, bounded); 0 for a fragment or junk. */
static size_t fz_ip6_l4(const uint8_t *h, size_t n, uint8_t *proto)
{
    uint8_t nh = h[6];
    size_t off = 40;
    for (int i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 60); i++) {
        if (off + 8 > n)
            return 0;
        nh = h[off];
        off += ((size_t)h[off + 1] + 1) * 8;
    }
    if (off > n || nh == 44)
        return 0;
    *proto = nh;
    return off;
}

static void fz_fix6(uint8_t *fr, size_t len)
{
    uint8_t *h = fr + 14, proto;
    if (len < 54 || (h[0] >> 4) != 6 || 40u + rd16(h + 4) > len - 14)
        return;
    size_t n = 40u + rd16(h + 4);
    size_t off = fz_ip6_l4(h, n, &proto);
    if (!off)
        return;
    uint8_t *l4 = h + off;
    size_t m = n - off;
    size_t ck = proto == 58 ? 2 : proto == 17 ? 6 : proto == 6 ? 16 : 0;
    if (!ck || m < ck + 2)
        return;
    wr16(l4 + ck, 0);
    uint16_t c = fz_l6sum(h, proto, l4, m);
    wr16(l4 + ck, (proto == 17 && !c) ? 0xffff : c);
}

void fz_fix(uint8_t *fr, size_t len)
{
    if (len >= 14 && rd16(fr + 12) == 0x86dd) {
        fz_fix6(fr, len);
        return;
    }
    if (len < 34 || rd16(fr + 12) != 0x0800)
        return;
    uint8_t *h = fr + 14;
    size_t hl = (size_t)(h[0] & 15) * 4;
    if (hl < 20 || hl > len - 14)
        return;
    wr16(h + 10, 0);
    wr16(h + 10, (uint16_t)~fz_sum16(0, h, hl));
    size_t tot = rd16(h + 2);
    if (tot < hl || tot > len - 14 || (rd16(h + 6) & 0x3fff))
        return;
    uint8_t *l4 = h + hl;
    size_t n = tot - hl;
    if (h[9] == 1 && n >= 4) {
        wr16(l4 + 2, 0);
        wr16(l4 + 2, (uint16_t)~fz_sum16(0, l4, n));
    } else if (h[9] == 17 && n >= 8) {
        size_t ul = rd16(l4 + 4);
        if (ul >= 8 && ul <= n) {
            wr16(l4 + 6, 0);
            uint16_t c = fz_l4sum(h, 17, l4, ul);
            wr16(l4 + 6, c ? c : 0xffff);
        }
    } else if (h[9] == 6 && n >= 20) {
        wr16(l4 + 16, 0);
        wr16(l4 + 16, fz_l4sum(h, 6, l4, n));
    }
}

void fz_eth(uint8_t *f, uint16_t type)
{
    memcpy(f, fz_l_mac, 6);
    memcpy(f + 6, fz_r_mac, 6);
    wr16(f + 12, type);
}

void fz_ip4(uint8_t *h, uint8_t proto, size_t l4_len, uint32_t dst)
{
    memset(h, 0, 20);
    h[0] = 0x45;
    wr16(h + 2, (uint16_t)(20 + l4_len));
    wr16(h + 4, 0x4242);
    h[8] = 64;
    h[9] = proto;
    wr32(h + 12, FZ_R_IP);
    wr32(h + 16, dst ? dst : FZ_L_IP);
    wr16(h + 10, (uint16_t)~fz_sum16(0, h, 20));
}

/* ---- the test link: what the stack sends must be well formed --------------- */

static int fz_rx_acquire(struct moat_link *l, const uint8_t **f, size_t *n)
{
    (void)l;
    (void)f;
    (void)n;
    return MOAT_E_AGAIN;
}
static void fz_rx_release(struct moat_link *l) { (void)l; }

static int fz_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct fz *z = (struct fz *)l;
    if (z->acquired)
        fz_fail("tx_acquire while a buffer is out");
    z->acquired = 1;
    *buf = z->txbuf;
    *cap = FZ_MTU + 14;
    return 0;
}

void fz_check_frame(const uint8_t *f, size_t len)
{
    if (len < 14 || len > FZ_MTU + 14)
        fz_fail("frame length out of range");
    if (memcmp(f + 6, fz_l_mac, 6) != 0)
        fz_fail("frame not from our MAC");
    if (rd16(f + 12) == 0x86dd) {
        const uint8_t *h = f + 14;
        uint8_t proto;
        if (len < 54 || (h[0] >> 4) != 6 || 40u + rd16(h + 4) > len - 14 || h[7] == 0)
            fz_fail("bad IPv6 header sent");
        size_t n = 40u + rd16(h + 4);
        size_t off = fz_ip6_l4(h, n, &proto);
        if (off && (proto == 58 || proto == 17 || proto == 6) &&
            fz_l6sum(h, proto, h + off, n - off) != 0)
            fz_fail("bad ICMPv6/UDP/TCP checksum sent over IPv6");
        return;
    }
    if (rd16(f + 12) != 0x0800)
        return;
    const uint8_t *h = f + 14;
    size_t hl = (size_t)(h[0] & 15) * 4;
    if ((h[0] >> 4) != 4 || hl < 20 || len < 14 + hl || rd16(h + 2) > len - 14 ||
        rd16(h + 2) < hl)
        fz_fail("bad IPv4 header sent");
    if (fz_sum16(0, h, hl) != 0xffff)
        fz_fail("bad IPv4 header checksum sent");
    size_t n = rd16(h + 2) - hl;
    if (rd16(h + 6) & 0x3fff)
        return;                             /* a fragment: no L4 check */
    const uint8_t *l4 = h + hl;
    if (h[9] == 6) {
        if (n < 20 || (size_t)(l4[12] >> 4) * 4 < 20 || (size_t)(l4[12] >> 4) * 4 > n)
            fz_fail("bad TCP header sent");
        if (fz_l4sum(h, 6, l4, n) != 0)
            fz_fail("bad TCP checksum sent");
    } else if (h[9] == 17) {
        if (n < 8 || rd16(l4 + 4) != n)
            fz_fail("bad UDP length sent");
        if (rd16(l4 + 6) != 0 && fz_l4sum(h, 17, l4, n) != 0)
            fz_fail("bad UDP checksum sent");
    } else if (h[9] == 1) {
        if (n < 8 || fz_sum16(0, l4, n) != 0xffff)
            fz_fail("bad ICMP message sent");
    }
}

static int fz_tx_commit(struct moat_link *l, size_t len)
{
    struct fz *z = (struct fz *)l;
    if (!z->acquired)
        fz_fail("tx_commit without tx_acquire");
    z->acquired = 0;
    if (len) {
        fz_check_frame(z->txbuf, len);
        z->frames_out++;
        unsigned k = z->n_cap++ % FZ_CAP;
        memcpy(z->cap[k], z->txbuf, len);
        z->cap_len[k] = (uint16_t)len;
        if (z->hook)
            z->hook(z->hook_ctx, z->txbuf, len);
    }
    return 0;
}

static const struct moat_link_ops fz_ops = {
    .rx_acquire = fz_rx_acquire,
    .rx_release = fz_rx_release,
    .tx_acquire = fz_tx_acquire,
    .tx_commit = fz_tx_commit,
};

/* Deterministic "randomness": an input replays the same way every time. */
static void fz_rng(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5a, len);
}

/* ---- the stack ------------------------------------------------------------- */

void fz_config(struct fz *z)
{
    memset(z, 0, sizeof *z);
    moat_config_defaults(&z->cfg);
    z->cfg.ifs[0].ip = FZ_L_IP;
    memcpy(z->cfg.ifs[0].mac, fz_l_mac, 6);
    z->cfg.max_sockets = 4;
    z->cfg.sock_rx_bytes = 8192;
    z->cfg.sock_tx_bytes = 8192;
    z->cfg.pkt_bufs = 16;
    z->cfg.arp_entries = 4;
    z->cfg.reass_slots = 2;
    /* 8, not 64: the SYN queue's scan in every poll took a quarter of
     * fuzz_input's time, and a full queue is reachable in a short input */
    z->cfg.tcp_syn_backlog = 8;
    z->cfg.seed = 1;
}

/*
 * The region and the core's memory are allocated once per process and
 * reused by every input of the same configuration: a fresh large
 * allocation per input costs page faults that dominated the fuzzers'
 * time (1.4 k instead of several k inputs per second).
 */
void *fz_buf(unsigned k, size_t size, size_t align)
{
    static void *buf[FZ_NBUF];
    static size_t len[FZ_NBUF];
    if (k >= FZ_NBUF)
        fz_fail("fz_buf: no such buffer");
    if (len[k] != size) {
        free(buf[k]);
        buf[k] = aligned_alloc(align, (size + align - 1) / align * align);
        len[k] = size;
        if (!buf[k])
            fz_fail("out of memory");
    }
    return buf[k];
}

static struct {
    const void *owner;          /* the harness struct the snapshot is of */
    size_t len, mem_len, reg_len;
    size_t skip0, skip1;        /* mem[skip0, skip1) is not restored */
    uint8_t *h, *mem, *reg;
} fz_snap;

void fz_snapshot(const void *h, size_t len)
{
    const struct fz *z = h;
    free(fz_snap.h);
    free(fz_snap.mem);
    free(fz_snap.reg);
    fz_snap.owner = h;
    fz_snap.len = len;
    fz_snap.mem_len = z->mem_len;
    fz_snap.reg_len = z->lay.off_sock_data;
    fz_snap.h = malloc(len);
    fz_snap.mem = malloc(fz_snap.mem_len);
    fz_snap.reg = malloc(fz_snap.reg_len);
    if (!fz_snap.h || !fz_snap.mem || !fz_snap.reg)
        fz_fail("out of memory (snapshot)");
    memcpy(fz_snap.h, h, len);
    memcpy(fz_snap.mem, z->mem, fz_snap.mem_len);
    /* The core's two scratch buffers (a datagram being built or
     * reassembled: written before read, 128 KiB of the 180) are not
     * restored but left as the last input left them, like the socket
     * ring data (which the setup never clears either). */
    const struct mcore *c = z->core;
    fz_snap.skip0 = fz_snap.skip1 = fz_snap.mem_len;
    if (c->scratch >= z->mem && c->scratch2 > c->scratch &&
        (size_t)(c->scratch2 - z->mem) + (size_t)(c->scratch2 - c->scratch) <= z->mem_len) {
        fz_snap.skip0 = (size_t)(c->scratch - z->mem);
        fz_snap.skip1 = (size_t)(c->scratch2 - z->mem) + (size_t)(c->scratch2 - c->scratch);
    }
    memcpy(fz_snap.reg, z->region, fz_snap.reg_len);
}

int fz_restore(void *h, size_t len)
{
    if (fz_snap.owner != h || fz_snap.len != len)
        return 0;
    memcpy(h, fz_snap.h, len);
    const struct fz *z = h;     /* mem and region: the same buffers (fz_buf) */
    memcpy(z->mem, fz_snap.mem, fz_snap.skip0);
    memcpy(z->mem + fz_snap.skip1, fz_snap.mem + fz_snap.skip1, fz_snap.mem_len - fz_snap.skip1);
    memcpy(z->region, fz_snap.reg, fz_snap.reg_len);
    return 1;
}

void fz_start(struct fz *z)
{
    struct moat_geom g = {z->cfg.max_sockets, z->cfg.sock_rx_bytes, z->cfg.sock_tx_bytes,
                          MOAT_CTL_SLOTS};
    if (moat_layout_compute(&g, &z->lay) != 0)
        fz_fail("layout");
    z->mem_len = (mcore_mem_size(&z->cfg) + 63u) & ~(size_t)63u;
    if (!z->mem_len)
        fz_fail("configuration refused");
    z->region = fz_buf(0, z->lay.size, 4096);
    z->mem = fz_buf(1, z->mem_len, 64);
    /* ring data is not cleared: the core must not depend on its contents */
    memset(z->region, 0, z->lay.off_sock_data);
    memset(z->mem, 0, z->mem_len);
    moat_region_init(z->region, &z->lay);
    z->link.ops = &fz_ops;
    z->link.mtu = FZ_MTU;
    memcpy(z->link.mac, fz_l_mac, 6);
    z->link.has_mac = 1;
    struct mcore_env env;
    memset(&env, 0, sizeof env);
    env.links[0] = z->link_override ? z->link_override : &z->link;
    env.rng = fz_rng;
    env.region = z->region;
    env.layout = z->lay;
    z->now = 1000000;
    if (mcore_init(z->mem, z->mem_len, &z->cfg, &env, &z->core) != 0)
        fz_fail("mcore_init");
    uint8_t *b = z->region;
    moat_ring_attach(&z->ctl, b + z->lay.off_ctl_sh, b + z->lay.off_ctl_data,
                     MOAT_CTL_SLOTS * MOAT_MSG_SIZE, 0);
    moat_ring_attach(&z->evt, b + z->lay.off_evt_sh, b + z->lay.off_evt_data,
                     MOAT_CTL_SLOTS * MOAT_MSG_SIZE, 0);
    z->next_id = 1;
    mcore_arp_add_static(z->core, 0, FZ_R_IP, fz_r_mac);
}

/* The window budget (core/tcp_wnd.c) charges every connection's windows
 * to one counter: it must equal the sum of what the connections hold,
 * and a connection that is closed holds nothing. */
static void fz_check_tcp_mem(struct fz *z)
{
    struct tcp_state *ts = z->core->tcp;
    if (!ts)
        return;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < ts->n; i++) {
        const struct tcp_cb *t = &ts->cbs[i];
        if (t->mem_charged && (z->core->socks[i].type != MOAT_SOCK_STREAM ||
                               t->state == TCPS_CLOSED)) {
            fprintf(stderr, "slot %u: type %u state %u charged %u\n", i,
                    z->core->socks[i].type, t->state, (unsigned)t->mem_charged);
            fz_fail("a closed connection still holds window budget");
        }
        sum += t->mem_charged;
    }
    if (sum != ts->mem_used)
        fz_fail("window budget differs from the sum the connections hold");
}

void fz_finish(struct fz *z)
{
    /* every lifetime but keepalive's is over after ten virtual minutes */
    fz_run_timers(z, z->now + 600u * 1000000u);
    struct moat_stats st;
    mcore_stats(z->core, &st);
    if (st.pkt_in_use != 0)
        fz_fail("packet buffers still held after all timers (leak)");
    fz_check_tcp_mem(z);
    if (fz_verbose())
        fprintf(stderr, "%s: out %llu, tcp in %llu, opened %llu, accepted %llu, udp in %llu, "
                "reassembled %llu, echo replies %llu, icmp errors %llu, retransmits %llu, "
                "drops %llu\n", fz_current, (unsigned long long)z->frames_out,
                (unsigned long long)st.tcp_segs_in, (unsigned long long)st.tcp_conns_opened,
                (unsigned long long)st.tcp_conns_accepted, (unsigned long long)st.udp_in,
                (unsigned long long)st.ip_reassembled, (unsigned long long)st.icmp_echo_replies,
                (unsigned long long)st.icmp_errors_out, (unsigned long long)st.tcp_retransmits,
                (unsigned long long)moat_stats_drops_total(&st));
    mcore_shutdown(z->core, z->now);
    mcore_stats(z->core, &st);
    if (st.pkt_in_use != 0)
        fz_fail("packet buffers still held after shutdown (leak)");
    if (z->core->sock_used != 0)
        fz_fail("socket slots still in use after shutdown");
    if (st.tcp_mem_used != 0)
        fz_fail("window budget still charged after shutdown");

    if (z->acquired)
        fz_fail("link buffer never committed");
}

int fz_call(struct fz *z, struct moat_msg *m, struct moat_msg *r)
{
    /* The client's own encoding (app/msg_enc.h); one poll of the core in
     * place of its waits. */
    int rc = app_req_put(&z->ctl, m, z->next_id++);
    if (rc == MOAT_E_PEER)
        fz_fail("core published an impossible evt/ctl index");
    if (rc != 0)
        return MOAT_E_PEER;             /* the core stopped reading (hostile app) */
    mcore_poll(z->core, z->now);
    /* other net -> app messages the catalog may hold are passed over */
    for (unsigned n = 0; n < MOAT_CTL_SLOTS; n++) {
        rc = app_evt_take(&z->evt, r);
        if (rc == MOAT_E_AGAIN)
            return MOAT_E_PEER;
        if (rc != 0)
            fz_fail("impossible evt index, or a message outside the catalog");
        if (r->type != MOAT_MSG_RESP)
            continue;
        if (!app_resp_answers(r, m->id))
            fz_fail("answer is not the RESP to the request");
        return r->result;
    }
    return MOAT_E_PEER;
}

uint32_t fz_sock(struct fz *z, uint32_t type, uint16_t port, uint32_t cip, uint16_t cport,
                 int listen)
{
    return fz_sock_af(z, type, 0, port, cip, cport, listen);
}

uint32_t fz_sock_af(struct fz *z, uint32_t type, uint8_t family, uint16_t port, uint32_t cip,
                    uint16_t cport, int listen)
{
    struct moat_msg m, r;
    memset(&m, 0, sizeof m);
    m.type = MOAT_MSG_OPEN;
    m.body.open.type = type;
    if (fz_call(z, &m, &r) != 0)
        return 0;
    uint32_t h = r.body.resp.sock;
    memset(&m, 0, sizeof m);
    m.type = MOAT_MSG_BIND;
    m.sock = h;
    m.body.addr.port = port;
    m.body.addr.family = family;    /* MOAT_AF_INET6: bound to :: */
    if (port && fz_call(z, &m, &r) != 0)
        fz_fail("bind");
    if (cip) {
        memset(&m, 0, sizeof m);
        m.type = MOAT_MSG_CONNECT;
        m.sock = h;
        m.body.addr.ip = cip;
        m.body.addr.port = cport;
        if (fz_call(z, &m, &r) != 0)
            fz_fail("connect");
    }
    if (listen) {
        memset(&m, 0, sizeof m);
        m.type = MOAT_MSG_LISTEN;
        m.sock = h;
        m.body.listen.backlog = 4;
        if (fz_call(z, &m, &r) != 0)
            fz_fail("listen");
    }
    return h;
}

void fz_rings(struct fz *z, uint32_t h, struct moat_ring *rx, struct moat_ring *tx)
{
    uint32_t idx = moat_handle_idx(h);
    if (idx >= z->lay.g.max_sockets)
        fz_fail("handle outside the socket table");
    struct moat_sock_sh *sh = moat_region_sock(z->region, &z->lay, idx);
    moat_ring_attach(rx, &sh->rx, moat_region_rx_data(z->region, &z->lay, idx),
                     z->lay.g.sock_rx_bytes, atomic_load(&sh->rx.cons));
    moat_ring_attach(tx, &sh->tx, moat_region_tx_data(z->region, &z->lay, idx),
                     z->lay.g.sock_tx_bytes, atomic_load(&sh->tx.prod));
}

void fz_run_timers(struct fz *z, uint64_t until)
{
    for (unsigned n = 0; n < 100000; n++) {
        uint64_t due = mcore_poll(z->core, z->now);
        if (due > until)
            break;
        if (due > z->now)
            z->now = due;
        else if (n > 1000)
            z->now++;       /* a core asking again and again at "now" */
    }
    if (z->now < until)
        z->now = until;
}

void fz_input(struct fz *z, const uint8_t *frame, size_t len)
{
    /* copy: the core must not read beyond len (ASan sees the edge) */
    uint8_t *fr = malloc(len ? len : 1);
    if (!fr)
        fz_fail("out of memory");
    memcpy(fr, frame, len);
    mcore_input(z->core, 0, fr, len, z->now);
    free(fr);
    mcore_poll(z->core, z->now);
}

/* ---- TCP from the peer ------------------------------------------------------ */

void fz_tcp_inject(struct fz *z, const struct fz_seg *s)
{
    uint8_t fr[FZ_MAX_FRAME];
    size_t ol = s->opt_len > 40 ? 40 : s->opt_len;
    size_t hl = 20 + ((ol + 3) & ~(size_t)3);
    uint32_t len = s->len;
    if (len > FZ_MTU - 20 - hl)
        len = (uint32_t)(FZ_MTU - 20 - hl);
    uint8_t *ip = fr + 14, *t = ip + 20;
    fz_eth(fr, 0x0800);
    fz_ip4(ip, 6, hl + len, 0);
    ip[1] = s->tos;
    wr16(ip + 10, 0);
    wr16(ip + 10, (uint16_t)~fz_sum16(0, ip, 20));
    memset(t, 0, hl);
    wr16(t, s->sport);
    wr16(t + 2, s->dport);
    wr32(t + 4, s->seq);
    wr32(t + 8, s->ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = s->flags;
    wr16(t + 14, s->wnd);
    memset(t + 20, 1, hl - 20);             /* NOP padding */
    if (ol)
        memcpy(t + 20, s->opt, ol);
    uint32_t p0 = s->seq + ((s->flags & 0x02) ? 1u : 0u);
    for (uint32_t i = 0; i < len; i++)
        t[hl + i] = fz_pattern(p0 + i);
    wr16(t + 16, fz_l4sum(ip, 6, t, hl + len));
    fz_input(z, fr, 14 + 20 + hl + len);
}

int fz_tcp_parse(const uint8_t *f, struct fz_tseg *s)
{
    if (rd16(f + 12) != 0x0800 || f[14 + 9] != 6 || (rd16(f + 14 + 6) & 0x3fff))
        return 0;
    const uint8_t *ip = f + 14;
    size_t hl = (size_t)(ip[0] & 15) * 4;
    s->tcp = ip + hl;
    s->hlen = (size_t)(s->tcp[12] >> 4) * 4;
    s->dport = rd16(s->tcp + 2);
    s->seq = rd32(s->tcp + 4);
    s->flags = s->tcp[13];
    s->len = (uint32_t)(rd16(ip + 2) - hl - s->hlen);
    s->end = s->seq + s->len + ((s->flags & 0x02) ? 1u : 0u) + ((s->flags & 0x01) ? 1u : 0u);
    return 1;
}

int fz_cap_tcp(const struct fz *z, unsigned i, const uint8_t **tcp, size_t *tcp_len)
{
    struct fz_tseg s;
    if (i >= FZ_CAP || i >= z->n_cap)
        return 0;
    unsigned k = (z->n_cap - 1u - i) % FZ_CAP;
    if (z->cap_len[k] < 54 || !fz_tcp_parse(z->cap[k], &s))
        return 0;
    *tcp = s.tcp;
    *tcp_len = s.hlen + s.len;
    return 1;
}

void fz_echo_dgrams(struct moat_ring *rx, struct moat_ring *tx, int connected)
{
    for (unsigned n = 0; n < 16; n++) {
        uint32_t avail, space;
        struct moat_dgram_hdr h;
        uint8_t buf[2048];
        if (moat_ring_avail(rx, &avail) != 0)
            fz_fail("core published an impossible rx index");
        if (avail == 0)
            break;
        if (avail < sizeof h)
            fz_fail("partial datagram record");
        moat_ring_get(rx, 0, &h, sizeof h);
        if (sizeof h + h.len > avail)
            fz_fail("datagram record longer than the ring holds");
        uint32_t n2 = h.len < sizeof buf ? h.len : sizeof buf;
        moat_ring_get(rx, sizeof h, buf, n2);
        moat_ring_consume(rx, (uint32_t)sizeof h + h.len);
        if (moat_ring_space(tx, &space) == 0 && space >= sizeof h + n2) {
            struct moat_dgram_hdr o = {.ip = connected ? 0 : h.ip,
                                       .port = connected ? 0 : h.port, .len = (uint16_t)n2};
            moat_ring_put(tx, 0, &o, sizeof o);
            moat_ring_put(tx, sizeof o, buf, n2);
            moat_ring_publish(tx, (uint32_t)sizeof o + n2);
        }
    }
}

/* ---- replay main ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef MOAT_LIBFUZZER
static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return -1;
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    /* an exact-size copy, so ASan catches reads past the input's end */
    uint8_t *in = malloc(n ? n : 1);
    if (!in)
        fz_fail("out of memory");
    memcpy(in, buf, n);
    fz_current = path;
    LLVMFuzzerTestOneInput(in, n);
    free(in);
    return 1;
}

static int replay(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    DIR *d = opendir(path);
    if (!d) {
        perror(path);
        return -1;
    }
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        int r = replay(p);
        if (r < 0) {
            closedir(d);
            return -1;
        }
        count += r;
    }
    closedir(d);
    return count;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int r = replay(argv[i]);
        if (r < 0)
            return 1;
        total += r;
    }
    if (total == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    printf("%s: %d inputs replayed, no crash, no leak\n", argv[0], total);
    return 0;
}
#endif
