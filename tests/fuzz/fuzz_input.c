/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack fuzz harness for mcore_input (FUZZ-MULTI-TIME-1 style): one
 * core with one interface (192.0.2.1/24), a static ARP entry for the peer
 * 192.0.2.2, a UDP socket bound to port 5000, a UDP socket connected to
 * 192.0.2.2:7, and (when TCP is available) a TCP listener on port 80.
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
 * Built two ways: with -DMOAT_LIBFUZZER and -fsanitize=fuzzer (clang,
 * cmake -DMOAT_FUZZ=ON) it is a libFuzzer target; otherwise it is a replay
 * program, `fuzz_input_replay FILE|DIR...`, that CI runs over the seed
 * corpus in tests/fuzz/corpus (under the sanitizer build too).
 *
 * Does not use Check or the unit-test fixture: it must run inside a fuzzer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core_priv.h"

#define FZ_MTU 1500u
#define FZ_MAX_FRAME 1514u
#define FZ_L_IP 0xc0000201u   /* 192.0.2.1 */
#define FZ_R_IP 0xc0000202u   /* 192.0.2.2 */

static const uint8_t fz_l_mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x01};
static const uint8_t fz_r_mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x02};

struct fz {
    struct moat_link link;      /* first */
    uint8_t txbuf[FZ_MAX_FRAME + 64];
    int acquired;
    uint64_t frames_out;
    struct moat_config cfg;
    struct moat_layout lay;
    uint8_t *region;
    uint8_t *mem;
    size_t mem_len;
    struct mcore *core;
    struct moat_ring ctl, evt;
    uint32_t next_id;
    uint32_t h_udp, h_conn;
    struct moat_ring rx[2], tx[2];
    uint64_t now;
};

/* The replay main names the input that failed (test code, not core). */
static const char *fz_current = "(fuzzer input)";

static void fz_fail(const char *what)
{
    fprintf(stderr, "fuzz_input: %s: %s\n", fz_current, what);
    abort();
}

static int fz_rx_acquire(struct moat_link *l, const uint8_t **f, size_t *n)
{
    (void)l; (void)f; (void)n;
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

static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint16_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
    while (n > 1) {
        s += ld16(p);
        p += 2;
        n -= 2;
    }
    if (n)
        s += (uint32_t)p[0] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* What we send must be well formed whatever came in. */
static void fz_check_out(const uint8_t *f, size_t len)
{
    if (len < 14 || len > FZ_MTU + 14)
        fz_fail("frame length out of range");
    if (memcmp(f + 6, fz_l_mac, 6) != 0)
        fz_fail("frame not from our MAC");
    if (ld16(f + 12) != 0x0800)
        return;
    const uint8_t *h = f + 14;
    size_t hl = (size_t)(h[0] & 15) * 4;
    if ((h[0] >> 4) != 4 || hl < 20 || len < 14 + hl || ld16(h + 2) > len - 14)
        fz_fail("bad IPv4 header sent");
    if (sum16(0, h, hl) != 0xffff)
        fz_fail("bad IPv4 header checksum sent");
}

static int fz_tx_commit(struct moat_link *l, size_t len)
{
    struct fz *z = (struct fz *)l;
    if (!z->acquired)
        fz_fail("tx_commit without tx_acquire");
    z->acquired = 0;
    if (len) {
        fz_check_out(z->txbuf, len);
        z->frames_out++;
    }
    return 0;
}

static const struct moat_link_ops fz_ops = {
    .rx_acquire = fz_rx_acquire,
    .rx_release = fz_rx_release,
    .tx_acquire = fz_tx_acquire,
    .tx_commit = fz_tx_commit,
};

static void fz_rng(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5a, len);
}

static int fz_call(struct fz *z, struct moat_msg *m, struct moat_msg *r)
{
    uint32_t space, avail;
    m->id = z->next_id++;
    if (moat_ring_space(&z->ctl, &space) != 0 || space < MOAT_MSG_SIZE)
        fz_fail("ctl ring");
    moat_ring_put(&z->ctl, 0, m, MOAT_MSG_SIZE);
    moat_ring_publish(&z->ctl, MOAT_MSG_SIZE);
    mcore_poll(z->core, z->now);
    if (moat_ring_avail(&z->evt, &avail) != 0 || avail < MOAT_MSG_SIZE)
        fz_fail("no RESP");
    moat_ring_get(&z->evt, 0, r, MOAT_MSG_SIZE);
    moat_ring_consume(&z->evt, MOAT_MSG_SIZE);
    return r->result;
}

static uint32_t fz_sock(struct fz *z, uint32_t type, uint16_t port, uint32_t cip,
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
    if (fz_call(z, &m, &r) != 0)
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

static void fz_attach(struct fz *z, unsigned k, uint32_t h)
{
    uint32_t idx = moat_handle_idx(h);
    struct moat_sock_sh *sh = moat_region_sock(z->region, &z->lay, idx);
    moat_ring_attach(&z->rx[k], &sh->rx, moat_region_rx_data(z->region, &z->lay, idx),
                     z->lay.g.sock_rx_bytes, 0);
    moat_ring_attach(&z->tx[k], &sh->tx, moat_region_tx_data(z->region, &z->lay, idx),
                     z->lay.g.sock_tx_bytes, 0);
}

static void fz_setup(struct fz *z)
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
    z->cfg.seed = 1;
    struct moat_geom g = {z->cfg.max_sockets, z->cfg.sock_rx_bytes, z->cfg.sock_tx_bytes,
                          MOAT_CTL_SLOTS};
    if (moat_layout_compute(&g, &z->lay) != 0)
        fz_fail("layout");
    z->region = aligned_alloc(4096, z->lay.size);
    z->mem_len = (mcore_mem_size(&z->cfg) + 63u) & ~(size_t)63u;
    z->mem = aligned_alloc(64, z->mem_len);
    if (!z->region || !z->mem || !z->mem_len)
        fz_fail("out of memory");
    memset(z->region, 0, z->lay.size);
    moat_region_init(z->region, &z->lay);
    z->link.ops = &fz_ops;
    z->link.mtu = FZ_MTU;
    memcpy(z->link.mac, fz_l_mac, 6);
    z->link.has_mac = 1;
    struct mcore_env env;
    memset(&env, 0, sizeof env);
    env.links[0] = &z->link;
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
    z->h_udp = fz_sock(z, MOAT_SOCK_DGRAM, 5000, 0, 0, 0);
    z->h_conn = fz_sock(z, MOAT_SOCK_DGRAM, 5001, FZ_R_IP, 7, 0);
    if (!z->h_udp || !z->h_conn)
        fz_fail("udp sockets");
    fz_attach(z, 0, z->h_udp);
    fz_attach(z, 1, z->h_conn);
    (void)fz_sock(z, MOAT_SOCK_STREAM, 80, 0, 0, 1);   /* 0 when TCP is absent */
}

static void fz_teardown(struct fz *z)
{
    free(z->region);
    free(z->mem);
}

/* Echo what arrived back out (bounded), then clear the socket errors. */
static void fz_echo(struct fz *z)
{
    for (unsigned k = 0; k < 2; k++) {
        for (unsigned n = 0; n < 16; n++) {
            uint32_t avail, space;
            struct moat_dgram_hdr h;
            uint8_t buf[2048];
            if (moat_ring_avail(&z->rx[k], &avail) != 0)
                fz_fail("core published an impossible rx index");
            if (avail == 0)
                break;
            if (avail < sizeof h)
                fz_fail("partial datagram record");
            moat_ring_get(&z->rx[k], 0, &h, sizeof h);
            if (sizeof h + h.len > avail)
                fz_fail("datagram record longer than the ring holds");
            uint32_t n2 = h.len < sizeof buf ? h.len : sizeof buf;
            moat_ring_get(&z->rx[k], sizeof h, buf, n2);
            moat_ring_consume(&z->rx[k], (uint32_t)sizeof h + h.len);
            if (moat_ring_space(&z->tx[k], &space) == 0 && space >= sizeof h + n2) {
                struct moat_dgram_hdr o = {.ip = k ? 0 : h.ip, .port = k ? 0 : h.port,
                                           .len = (uint16_t)n2};
                moat_ring_put(&z->tx[k], 0, &o, sizeof o);
                moat_ring_put(&z->tx[k], sizeof o, buf, n2);
                moat_ring_publish(&z->tx[k], (uint32_t)sizeof o + n2);
            }
        }
    }
}

static void fz_run_timers(struct fz *z, uint64_t until)
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

static void st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint16_t l4sum(const uint8_t *h, uint8_t proto, const uint8_t *l4, size_t n)
{
    uint8_t ph[12];
    memcpy(ph, h + 12, 8);
    ph[8] = 0;
    ph[9] = proto;
    st16(ph + 10, (uint16_t)n);
    uint32_t s = sum16(0, ph, sizeof ph);
    return (uint16_t)~sum16(s, l4, n);
}

/* Recompute whatever checksums the headers make computable. */
static void fz_fix(uint8_t *fr, size_t len)
{
    if (len < 34 || ld16(fr + 12) != 0x0800)
        return;
    uint8_t *h = fr + 14;
    size_t hl = (size_t)(h[0] & 15) * 4;
    if (hl < 20 || hl > len - 14)
        return;
    st16(h + 10, 0);
    st16(h + 10, (uint16_t)~sum16(0, h, hl));
    size_t tot = ld16(h + 2);
    if (tot < hl || tot > len - 14 || (ld16(h + 6) & 0x3fff))
        return;
    uint8_t *l4 = h + hl;
    size_t n = tot - hl;
    if (h[9] == 1 && n >= 4) {
        st16(l4 + 2, 0);
        st16(l4 + 2, (uint16_t)~sum16(0, l4, n));
    } else if (h[9] == 17 && n >= 8) {
        size_t ul = ld16(l4 + 4);
        if (ul >= 8 && ul <= n) {
            st16(l4 + 6, 0);
            uint16_t c = l4sum(h, 17, l4, ul);
            st16(l4 + 6, c ? c : 0xffff);
        }
    } else if (h[9] == 6 && n >= 20) {
        st16(l4 + 16, 0);
        st16(l4 + 16, l4sum(h, 6, l4, n));
    }
}

static int fz_one(const uint8_t *data, size_t size)
{
    struct fz z;
    fz_setup(&z);
    size_t off = 0;
    while (off + 4 <= size) {
        size_t len = ld16(data + off);
        uint16_t w = ld16(data + off + 2);
        uint64_t adv = (uint64_t)(w & 0x7fffu) * 1000u;
        off += 4;
        if (len > FZ_MAX_FRAME)
            len = FZ_MAX_FRAME;
        if (len > size - off)
            len = size - off;
        /* copy: the core must not read beyond len (ASan sees the edge) */
        uint8_t *fr = malloc(len ? len : 1);
        if (!fr)
            fz_fail("out of memory");
        memcpy(fr, data + off, len);
        off += len;
        if (w & 0x8000u)
            fz_fix(fr, len);
        mcore_input(z.core, 0, fr, len, z.now);
        free(fr);
        fz_echo(&z);
        fz_run_timers(&z, z.now + adv);
    }
    /* every lifetime is over after ten virtual minutes */
    fz_run_timers(&z, z.now + 600u * 1000000u);
    struct moat_stats st;
    mcore_stats(z.core, &st);
    if (st.pkt_in_use != 0)
        fz_fail("packet buffers still held after all timers (leak)");
    mcore_shutdown(z.core, z.now);
    mcore_stats(z.core, &st);
    if (st.pkt_in_use != 0)
        fz_fail("packet buffers still held after shutdown (leak)");
    fz_teardown(&z);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_one(data, size);
}

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
    fz_current = path;
    fz_one(buf, n);
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
    printf("fuzz_input: %d inputs replayed, no crash, no leak\n", total);
    return 0;
}
#endif
