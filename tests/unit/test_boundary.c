/* SPDX-License-Identifier: MIT */
/*
 * The socket boundary and the things every domain agrees on: the region
 * layout (moat_layout_compute, moat_region_init/check), the message catalog
 * validator (moat_msg_check, moat_msg_name), handles, the configuration
 * defaults and checks, the error and drop-reason tables, mcore_init's
 * argument checks, two cores in one process, and the core's defence
 * against a hostile application on the ctl ring and the socket rings.
 */
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"
#include "core/core_priv.h"

static bool is_aligned(size_t v, size_t a) { return (v & (a - 1)) == 0; }

static void zero_rng(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x42, len);
}

START_TEST(layout_geometries)
{
    static const struct moat_geom gs[] = {
        {1, 4096, 4096, 2},
        {8, 16384, 16384, 64},
        {64, 256u * 1024, 256u * 1024, 64},
        {4096, 4096, 8192, 4096},
        {65536, 256u * 1024, 256u * 1024, 64},
        {3, 1u << 26, 1u << 26, 64},
    };
    for (unsigned i = 0; i < sizeof gs / sizeof gs[0]; i++) {
        struct moat_layout l;
        ck_assert_int_eq(moat_layout_compute(&gs[i], &l), 0);
        ck_assert_mem_eq(&l.g, &gs[i], sizeof gs[i]);
        /* ordered, disjoint, aligned */
        ck_assert_uint_ge(l.off_ctl_sh, sizeof(struct moat_region_hdr));
        ck_assert(is_aligned(l.off_ctl_sh, MOAT_CACHELINE));
        ck_assert(is_aligned(l.off_evt_sh, MOAT_CACHELINE));
        ck_assert(is_aligned(l.off_socks, MOAT_CACHELINE));
        ck_assert_uint_ge(l.off_evt_sh, l.off_ctl_sh + sizeof(struct moat_ring_sh));
        ck_assert_uint_ge(l.off_socks, l.off_evt_sh + sizeof(struct moat_ring_sh));
        ck_assert_uint_ge(l.off_ctl_data,
                          l.off_socks + (size_t)gs[i].max_sockets * sizeof(struct moat_sock_sh));
        ck_assert_uint_ge(l.off_evt_data, l.off_ctl_data + (size_t)gs[i].ctl_slots * MOAT_MSG_SIZE);
        ck_assert_uint_ge(l.off_sock_data, l.off_evt_data + (size_t)gs[i].ctl_slots * MOAT_MSG_SIZE);
        ck_assert(is_aligned(l.off_sock_data, 4096));
        ck_assert_uint_eq(l.sock_stride, (size_t)gs[i].sock_rx_bytes + gs[i].sock_tx_bytes);
        ck_assert_uint_ge(l.size, l.off_sock_data + (size_t)gs[i].max_sockets * l.sock_stride);
        ck_assert(is_aligned(l.size, 4096));
        /* deterministic: both sides compute the same thing */
        struct moat_layout l2;
        memset(&l2, 0x5a, sizeof l2);
        ck_assert_int_eq(moat_layout_compute(&gs[i], &l2), 0);
        ck_assert_uint_eq(l2.size, l.size);
        ck_assert_uint_eq(l2.off_sock_data, l.off_sock_data);
    }
}
END_TEST

START_TEST(layout_rejects)
{
    struct moat_layout l;
    static const struct moat_geom inval[] = {
        {0, 4096, 4096, 64},
        {65537, 4096, 4096, 64},   /* a handle holds 16 bits of slot */
        {1, 4095, 4096, 64},
        {1, 4096, 6000, 64},
        {1, 4096, 4096, 63},
        {1, 4096, 4096, 0},
        {1, 0, 4096, 64},
    };
    for (unsigned i = 0; i < sizeof inval / sizeof inval[0]; i++)
        ck_assert_msg(moat_layout_compute(&inval[i], &l) == MOAT_E_INVAL, "case %u", i);
    static const struct moat_geom range[] = {
        {1, 1u << 27, 4096, 64},
        {1, 4096, 1u << 27, 64},
        {1, 4096, 4096, 8192},
    };
    for (unsigned i = 0; i < sizeof range / sizeof range[0]; i++)
        ck_assert_msg(moat_layout_compute(&range[i], &l) == MOAT_E_RANGE, "case %u", i);
    ck_assert_int_eq(moat_layout_compute(NULL, &l), MOAT_E_INVAL);
}
END_TEST

START_TEST(region_init_check)
{
    struct moat_geom g = {4, 4096, 4096, 64};
    struct moat_layout l, other;
    ck_assert_int_eq(moat_layout_compute(&g, &l), 0);
    uint8_t *r = aligned_alloc(4096, l.size);
    ck_assert_ptr_nonnull(r);
    memset(r, 0xee, l.size);
    moat_region_init(r, &l);
    ck_assert_int_eq(moat_region_check(r, l.size, &l), 0);
    struct moat_region_hdr *h = moat_region_hdr(r);
    ck_assert_uint_eq(h->magic, MOAT_REGION_MAGIC);
    ck_assert_uint_eq(h->version, MOAT_REGION_VERSION);
    ck_assert_uint_eq(atomic_load(&h->app_seq), 0);
    ck_assert_uint_eq(atomic_load(&h->net_sleeping), 0);
    for (uint32_t i = 0; i < g.max_sockets; i++) {
        struct moat_sock_sh *s = moat_region_sock(r, &l, i);
        ck_assert_uint_eq(atomic_load(&s->rx.prod), 0);
        ck_assert_uint_eq(atomic_load(&s->tx.cons), 0);
        ck_assert_uint_eq(atomic_load(&s->status), 0);
        ck_assert_ptr_eq(moat_region_tx_data(r, &l, i),
                         moat_region_rx_data(r, &l, i) + g.sock_rx_bytes);
        ck_assert_uint_le((size_t)(moat_region_tx_data(r, &l, i) - r) + g.sock_tx_bytes, l.size);
    }
    /* every mismatch is MOAT_E_PEER */
    ck_assert_int_eq(moat_region_check(r, l.size - 1, &l), MOAT_E_PEER);
    ck_assert_int_eq(moat_region_check(NULL, l.size, &l), MOAT_E_PEER);
    struct moat_geom g2 = {8, 4096, 4096, 64};
    ck_assert_int_eq(moat_layout_compute(&g2, &other), 0);
    ck_assert_int_eq(moat_region_check(r, other.size, &other), MOAT_E_PEER);
    h->version = MOAT_REGION_VERSION + 1;
    ck_assert_int_eq(moat_region_check(r, l.size, &l), MOAT_E_PEER);
    h->version = MOAT_REGION_VERSION;
    h->magic ^= 1;
    ck_assert_int_eq(moat_region_check(r, l.size, &l), MOAT_E_PEER);
    h->magic ^= 1;
    h->size += 4096;
    ck_assert_int_eq(moat_region_check(r, l.size, &l), MOAT_E_PEER);
    h->size -= 4096;
    h->geom.ctl_slots = 32;
    ck_assert_int_eq(moat_region_check(r, l.size, &l), MOAT_E_PEER);
    free(r);
}
END_TEST

START_TEST(msg_catalog)
{
    struct moat_msg m;
    static const struct { uint16_t type; const char *name; enum moat_msg_dir dir; } cat[] = {
        {MOAT_MSG_OPEN, "OPEN", MOAT_DIR_APP},      {MOAT_MSG_BIND, "BIND", MOAT_DIR_APP},
        {MOAT_MSG_CONNECT, "CONNECT", MOAT_DIR_APP}, {MOAT_MSG_LISTEN, "LISTEN", MOAT_DIR_APP},
        {MOAT_MSG_ACCEPT, "ACCEPT", MOAT_DIR_APP},  {MOAT_MSG_SHUTDOWN, "SHUTDOWN", MOAT_DIR_APP},
        {MOAT_MSG_CLOSE, "CLOSE", MOAT_DIR_APP},    {MOAT_MSG_ABORT, "ABORT", MOAT_DIR_APP},
        {MOAT_MSG_SETOPT, "SETOPT", MOAT_DIR_APP},  {MOAT_MSG_GETOPT, "GETOPT", MOAT_DIR_APP},
        {MOAT_MSG_NAME, "NAME", MOAT_DIR_APP},      {MOAT_MSG_STATS, "STATS", MOAT_DIR_APP},
        {MOAT_MSG_RESP, "RESP", MOAT_DIR_NET},
    };
    ck_assert_uint_eq(sizeof cat / sizeof cat[0], MOAT_MSG_COUNT_ - 1);
    for (unsigned i = 0; i < sizeof cat / sizeof cat[0]; i++) {
        memset(&m, 0, sizeof m);
        m.type = cat[i].type;
        ck_assert_str_eq(moat_msg_name(cat[i].type), cat[i].name);
        ck_assert_int_eq(moat_msg_check(&m, cat[i].dir), 0);
        enum moat_msg_dir wrong = cat[i].dir == MOAT_DIR_APP ? MOAT_DIR_NET : MOAT_DIR_APP;
        ck_assert_int_eq(moat_msg_check(&m, wrong), MOAT_E_PEER);
        m.pad = 1;
        ck_assert_int_eq(moat_msg_check(&m, cat[i].dir), MOAT_E_PEER);
    }
    static const uint16_t bad[] = {0, MOAT_MSG_COUNT_, MOAT_MSG_COUNT_ + 1, 0x7fff, 0xffff};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&m, 0, sizeof m);
        m.type = bad[i];
        ck_assert_int_eq(moat_msg_check(&m, MOAT_DIR_APP), MOAT_E_PEER);
        ck_assert_int_eq(moat_msg_check(&m, MOAT_DIR_NET), MOAT_E_PEER);
        ck_assert_ptr_nonnull(moat_msg_name(bad[i]));
    }
    ck_assert_ptr_nonnull(moat_msg_name(0xffffffffu));
    ck_assert_uint_eq(sizeof(struct moat_msg), 128);
    ck_assert_uint_eq(sizeof(struct moat_dgram_hdr), 32);
}
END_TEST

START_TEST(handles)
{
    uint32_t h = moat_handle_make(5, 0x1234);
    ck_assert_uint_eq(moat_handle_idx(h), 5);
    ck_assert_uint_eq(moat_handle_gen(h), 0x1234);
    ck_assert_uint_ne(h, 0);
    h = moat_handle_make(4095, 0xffff);
    ck_assert_uint_eq(moat_handle_idx(h), 4095);
    ck_assert_uint_eq(moat_handle_gen(h), 0xffff);
}
END_TEST

/* The defaults documented in include/moat/moat.h. */
START_TEST(config_defaults)
{
    struct moat_config c;
    memset(&c, 0xa5, sizeof c);
    moat_config_defaults(&c);
    ck_assert_uint_eq(c.n_ifs, 1);
    ck_assert_uint_eq(c.ifs[0].prefix, 24);
    ck_assert_uint_eq(c.ifs[0].mtu, 1500);
    ck_assert_uint_eq(c.ifs[0].ip, 0);
    ck_assert_uint_eq(c.ifs[0].gw, 0);
    ck_assert_int_eq(c.ifs[0].link, MOAT_LINK_NONE);
    ck_assert_mem_eq(c.ifs[0].mac, fx_zero_mac, 6);
    ck_assert_uint_eq(c.max_sockets, 64);
    ck_assert_uint_eq(c.sock_rx_bytes, 256u * 1024);
    ck_assert_uint_eq(c.sock_tx_bytes, 256u * 1024);
    ck_assert_uint_eq(c.pkt_bufs, 256);
    ck_assert_uint_eq(c.arp_entries, 32);
    ck_assert_uint_eq(c.arp_queue, 16);
    ck_assert_uint_eq(c.arp_timeout_ms, 300000);
    ck_assert_uint_eq(c.reass_slots, 8);
    ck_assert_uint_eq(c.reass_timeout_ms, 30000);
    ck_assert_uint_eq(c.icmp_err_per_s, 100);
    ck_assert_uint_eq(c.ip_ttl, 64);
    ck_assert_uint_eq(c.tcp_rto_init_ms, 1000);
    ck_assert_uint_eq(c.tcp_rto_min_ms, 200);
    ck_assert_uint_eq(c.tcp_rto_max_ms, 60000);
    ck_assert_uint_eq(c.tcp_max_retries, 12);
    ck_assert_uint_eq(c.tcp_syn_retries, 6);
    ck_assert_uint_eq(c.tcp_msl_ms, 30000);
    ck_assert_uint_eq(c.tcp_delack_ms, 40);
    ck_assert_uint_eq(c.tcp_keepidle_ms, 7200000);
    ck_assert_uint_eq(c.tcp_keepintvl_ms, 75000);
    ck_assert_uint_eq(c.tcp_keepcnt, 9);
    ck_assert_uint_eq(c.tcp_syn_backlog, 64);
    ck_assert_uint_eq(c.tcp_ooo_bytes, 4u * 1024 * 1024);
    ck_assert_uint_eq(c.seed, 0);
    ck_assert_uint_eq(c.spin_us, 50);
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++)
        ck_assert_uint_eq(c.ifs[i].impair.loss_ppm, 0);

    /* defaults need only an address to be valid */
    char why[128];
    ck_assert_int_eq(moat_config_check(&c, why, sizeof why), MOAT_E_INVAL);
    ck_assert_uint_gt(strlen(why), 0);
    c.ifs[0].ip = FX_L_IP;
    ck_assert_int_eq(moat_config_check(&c, why, sizeof why), 0);
    ck_assert_uint_gt(mcore_mem_size(&c), 0);
}
END_TEST

START_TEST(config_check_rejects)
{
    struct moat_config base;
    moat_config_defaults(&base);
    base.ifs[0].ip = FX_L_IP;
#define REJECT(field_expr, code)                                                  \
    do {                                                                          \
        struct moat_config c = base;                                              \
        char why[96] = "";                                                        \
        field_expr;                                                               \
        int rc = moat_config_check(&c, why, sizeof why);                          \
        ck_assert_msg(rc == (code), "%s: %s", #field_expr, moat_errname(rc));     \
        ck_assert_msg(why[0] != 0, "%s: no reason given", #field_expr);           \
        ck_assert_uint_eq(mcore_mem_size(&c), 0);                                 \
    } while (0)
    REJECT(c.n_ifs = 0, MOAT_E_RANGE);
    REJECT(c.n_ifs = MOAT_MAX_IFS + 1, MOAT_E_RANGE);
    REJECT(c.ifs[0].prefix = 0, MOAT_E_RANGE);
    REJECT(c.ifs[0].prefix = 33, MOAT_E_RANGE);
    REJECT(c.ifs[0].mtu = 575, MOAT_E_RANGE);
    REJECT(c.ifs[0].mtu = 9001, MOAT_E_RANGE);
    REJECT(c.ifs[0].link = MOAT_LINK_TAP, MOAT_E_INVAL);
    REJECT(c.ifs[0].link = MOAT_LINK_CUSTOM, MOAT_E_INVAL);
    REJECT(c.ifs[0].impair.loss_ppm = 1000001, MOAT_E_RANGE);
    REJECT(c.max_sockets = 0, MOAT_E_RANGE);
    REJECT(c.max_sockets = 65537, MOAT_E_RANGE);
    REJECT(c.sock_rx_bytes = 5000, MOAT_E_RANGE);
    REJECT(c.sock_tx_bytes = 2048, MOAT_E_RANGE);
    REJECT(c.pkt_bufs = 7, MOAT_E_RANGE);
    REJECT(c.arp_entries = 0, MOAT_E_RANGE);
    REJECT(c.arp_queue = 0, MOAT_E_RANGE);
    REJECT(c.reass_slots = 0, MOAT_E_RANGE);
    REJECT(c.ip_ttl = 0, MOAT_E_RANGE);
    REJECT(c.tcp_rto_min_ms = 0, MOAT_E_RANGE);
    REJECT(c.tcp_rto_init_ms = 100, MOAT_E_RANGE);
    REJECT(c.net_stall_ms = 1999, MOAT_E_RANGE);   /* 0 (off) or >= 2000 */
    REJECT((c.n_ifs = 2, c.ifs[1].ip = 0), MOAT_E_INVAL);
#undef REJECT
    ck_assert_int_eq(moat_config_check(NULL, NULL, 0), MOAT_E_INVAL);
    /* a NULL or tiny reason buffer is fine */
    struct moat_config c = base;
    c.n_ifs = 0;
    char tiny[4] = "xyz";
    ck_assert_int_eq(moat_config_check(&c, tiny, sizeof tiny), MOAT_E_RANGE);
    ck_assert_uint_lt(strlen(tiny), sizeof tiny);
    ck_assert_int_eq(moat_config_check(&c, NULL, 50), MOAT_E_RANGE);
}
END_TEST

START_TEST(err_and_drop_tables)
{
    for (int e = MOAT_E_MIN_ + 1; e <= 0; e++) {
        ck_assert_ptr_nonnull(moat_strerror(e));
        ck_assert_ptr_nonnull(moat_errname(e));
        ck_assert_uint_gt(strlen(moat_strerror(e)), 0);
        ck_assert_msg(strncmp(moat_errname(e), "MOAT_", 5) == 0, "%d", e);
    }
    ck_assert_str_eq(moat_errname(MOAT_E_AGAIN), "MOAT_E_AGAIN");
    ck_assert_str_eq(moat_errname(0), "MOAT_OK");
    ck_assert_ptr_nonnull(moat_strerror(MOAT_E_MIN_));
    ck_assert_ptr_nonnull(moat_strerror(1));
    ck_assert_ptr_nonnull(moat_errname(-1000));
    for (int i = 0; i < MOAT_DROP_COUNT; i++) {
        ck_assert_uint_gt(strlen(moat_drop_name(i)), 0);
        ck_assert_uint_gt(strlen(moat_drop_desc(i)), 0);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(moat_drop_name(i), moat_drop_name(j));
    }
    ck_assert_str_eq(moat_drop_name(MOAT_DROP_IP_CHECKSUM), "IP_CHECKSUM");
    ck_assert_ptr_nonnull(moat_drop_name(-1));
    ck_assert_ptr_nonnull(moat_drop_name(MOAT_DROP_COUNT));
    ck_assert_ptr_nonnull(moat_drop_desc(MOAT_DROP_COUNT));
    struct moat_stats st;
    memset(&st, 0, sizeof st);
    st.drops[0] = 3;
    st.drops[MOAT_DROP_COUNT - 1] = 4;
    ck_assert_uint_eq(moat_stats_drops_total(&st), 7);
}
END_TEST

START_TEST(mcore_init_args)
{
    struct fx f;
    fx_config(&f);
    size_t need = mcore_mem_size(&f.cfg);
    ck_assert_uint_gt(need, 0);
    struct moat_geom g = {f.cfg.max_sockets, f.cfg.sock_rx_bytes, f.cfg.sock_tx_bytes,
                          MOAT_CTL_SLOTS};
    struct moat_layout l;
    ck_assert_int_eq(moat_layout_compute(&g, &l), 0);
    void *region = aligned_alloc(4096, l.size);
    ck_assert_ptr_nonnull(region);
    moat_region_init(region, &l);
    uint8_t *mem = aligned_alloc(64, need + 128);
    ck_assert_ptr_nonnull(mem);
    struct mcore_env env;
    memset(&env, 0, sizeof env);
    env.rng = NULL;
    env.region = region;
    env.layout = l;
    struct mcore *c = NULL;
    ck_assert_int_eq(mcore_init(mem, need, &f.cfg, &env, &c), MOAT_E_INVAL);   /* no rng */
    env.rng = zero_rng;
    ck_assert_int_eq(mcore_init(mem + 8, need, &f.cfg, &env, &c), MOAT_E_INVAL); /* misaligned */
    ck_assert_int_eq(mcore_init(mem, need - 1, &f.cfg, &env, &c), MOAT_E_NOMEM);
    env.layout.g.max_sockets++;
    ck_assert_int_eq(mcore_init(mem, need, &f.cfg, &env, &c), MOAT_E_INVAL);  /* geometry */
    env.layout.g.max_sockets--;
    env.region = NULL;
    ck_assert_int_eq(mcore_init(mem, need, &f.cfg, &env, &c), MOAT_E_INVAL);
    env.region = region;
    struct moat_config bad = f.cfg;
    bad.n_ifs = 0;
    ck_assert_int_eq(mcore_init(mem, need, &bad, &env, &c), MOAT_E_INVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(mcore_init(mem, need, &f.cfg, &env, &c), 0);
    ck_assert_ptr_nonnull(c);
    free(mem);
    free(region);
}
END_TEST

/* No globals: two stacks in one process do not see each other. */
START_TEST(two_cores_independent)
{
    struct fx a, b;
    fx_init(&a);
    fx_init(&b);
    uint32_t ha = fx_udp_bound(&a, 0, 7);
    uint32_t hb = fx_udp_bound(&b, 0, 7);
    fx_inject_udp(&a, 1000, 7, "only-a", 6);
    ck_assert_uint_eq(fx_rx_count(&a, ha), 1);
    ck_assert_uint_eq(fx_rx_count(&b, hb), 0);
    ck_assert_uint_eq(fx_stats(&b).frames_in, 0);
    fx_arp_seed(&b);
    ck_assert_int_eq(fx_sendto(&b, hb, FX_R_IP, 1000, "only-b", 6), 0);
    ck_assert_uint_eq(fx_ntx(&b), 1);
    fx_expect_no_tx(&a);
    fx_teardown(&a);
    fx_teardown(&b);
}
END_TEST

/* Raw ctl request helper: publish @p m as is (id kept) and read one RESP. */
static int raw_call(struct fx *f, struct moat_msg *m, struct moat_msg *resp)
{
    moat_ring_put(&f->ctl, 0, m, MOAT_MSG_SIZE);
    moat_ring_publish(&f->ctl, MOAT_MSG_SIZE);
    fx_poll(f);
    uint32_t avail = 0;
    ck_assert_int_eq(moat_ring_avail(&f->evt, &avail), 0);
    ck_assert_uint_eq(avail, MOAT_MSG_SIZE);
    moat_ring_get(&f->evt, 0, resp, MOAT_MSG_SIZE);
    moat_ring_consume(&f->evt, MOAT_MSG_SIZE);
    ck_assert_int_eq(moat_msg_check(resp, MOAT_DIR_NET), 0);
    ck_assert_uint_eq(resp->type, MOAT_MSG_RESP);
    ck_assert_uint_eq(resp->id, m->id);
    return resp->result;
}

/* Every malformed request is answered with MOAT_E_PEER (or BADHANDLE) and
 * counted; the stack keeps serving. */
START_TEST(ctl_hostile_requests)
{
    struct fx f;
    fx_init(&f);
    struct moat_msg m, r;
    uint64_t b0 = fx_drop(&f, MOAT_DROP_BOUNDARY);
    static const uint16_t bad_types[] = {0, MOAT_MSG_RESP, MOAT_MSG_COUNT_, 0xffff};
    for (unsigned i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        memset(&m, 0, sizeof m);
        m.type = bad_types[i];
        m.id = 100 + i;
        ck_assert_int_eq(raw_call(&f, &m, &r), MOAT_E_PEER);
    }
    memset(&m, 0, sizeof m);
    m.type = MOAT_MSG_OPEN;
    m.id = 200;
    m.pad = 7;
    ck_assert_int_eq(raw_call(&f, &m, &r), MOAT_E_PEER);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_BOUNDARY), b0 + 5);

    /* stale, out-of-range and never-issued handles */
    uint32_t h = fx_udp_bound(&f, 0, 9);
    ck_assert_int_eq(fx_close(&f, h), 0);
    static const uint32_t bad_handles[] = {0, 0xffffffffu, 0x0001ffffu, 0};
    for (unsigned i = 0; i < sizeof bad_handles / sizeof bad_handles[0]; i++) {
        memset(&m, 0, sizeof m);
        m.type = MOAT_MSG_BIND;
        m.id = 300 + i;
        m.sock = i == 3 ? h : bad_handles[i];
        ck_assert_int_eq(raw_call(&f, &m, &r), MOAT_E_BADHANDLE);
    }
    /* unknown option, bad shutdown "how", LISTEN on UDP */
    h = fx_udp_bound(&f, 0, 9);
    ck_assert_int_eq(fx_setopt(&f, h, 999, 1), MOAT_E_NOTSUP);
    int64_t v;
    ck_assert_int_eq(fx_getopt(&f, h, 999, &v), MOAT_E_NOTSUP);
    memset(&m, 0, sizeof m);
    m.type = MOAT_MSG_SHUTDOWN;
    m.id = 400;
    m.sock = h;
    m.body.shut.how = 9;
    ck_assert_int_eq(raw_call(&f, &m, &r), MOAT_E_INVAL);
    memset(&m, 0, sizeof m);
    m.type = MOAT_MSG_LISTEN;
    m.id = 401;
    m.sock = h;
    ck_assert_int_eq(raw_call(&f, &m, &r), MOAT_E_NOTSUP);
    /* STATS copies the counters into the region header */
    struct moat_stats st;
    ck_assert_int_eq(fx_stats_call(&f, &st), 0);
    ck_assert_uint_eq(st.drops[MOAT_DROP_BOUNDARY], b0 + 5);
    /* and everything still works */
    fx_inject_udp(&f, 1000, 9, "ok", 2);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    fx_expect_no_tx(&f);
    fx_teardown(&f);
}
END_TEST

/* A ctl ring index no honest application can produce stops the channel
 * for good (counted), without touching the rest of the stack. */
START_TEST(ctl_impossible_index)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, 9);
    struct moat_ring_sh *sh = (struct moat_ring_sh *)((uint8_t *)f.region + f.lay.off_ctl_sh);
    atomic_store(&sh->prod, 5 * MOAT_MSG_SIZE + 3);      /* not a whole message */
    uint64_t b0 = fx_drop(&f, MOAT_DROP_BOUNDARY);
    fx_poll(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_BOUNDARY), b0 + 1);
    ck_assert(f.core->ctl_dead);
    fx_advance(&f, 1000000);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_BOUNDARY), b0 + 1);   /* counted once */
    uint32_t avail;
    ck_assert_int_eq(moat_ring_avail(&f.evt, &avail), 0);
    ck_assert_uint_eq(avail, 0);
    /* the data path of existing sockets keeps working */
    fx_inject_udp(&f, 1000, 9, "ok", 2);
    ck_assert_uint_eq(fx_rx_count(&f, h), 1);
    /* no CLOSE can be answered any more: forget the handle, skip the checks */
    memset(f.socks, 0, f.lay.g.max_sockets * sizeof *f.socks);
    f.skip_idle_check = true;
    fx_teardown(&f);
}
END_TEST

/* A broken datagram record in a send ring fails that socket (PEER), not
 * the stack; an impossible rx consumer index likewise. */
START_TEST(sock_ring_hostile)
{
    struct fx f;
    fx_init(&f);
    fx_arp_seed(&f);
    uint32_t h = fx_udp_bound(&f, 0, 9);
    uint32_t ok = fx_udp_bound(&f, 0, 10);
    struct fx_app_sock *as = &f.socks[moat_handle_idx(h)];
    /* a record that claims more bytes than were published */
    struct moat_dgram_hdr dh = {.ip = FX_R_IP, .port = 7, .len = 500};
    moat_ring_put(&as->tx, 0, &dh, sizeof dh);
    moat_ring_publish(&as->tx, sizeof dh + 10);
    uint64_t b0 = fx_drop(&f, MOAT_DROP_BOUNDARY);
    fx_poll(&f);
    fx_expect_no_tx(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_BOUNDARY), b0 + 1);
    ck_assert(fx_sock_status(&f, h) & MOAT_SS_ERR);
    ck_assert_int_eq(fx_sock_error(&f, h), MOAT_E_PEER);
    /* a record shorter than its header */
    moat_ring_publish(&as->tx, 3);
    fx_poll(&f);
    ck_assert_uint_eq(fx_drop(&f, MOAT_DROP_BOUNDARY), b0 + 2);
    /* an impossible producer index on the app's tx ring */
    struct moat_sock_sh *sh = moat_region_sock(f.region, &f.lay, moat_handle_idx(h));
    atomic_store(&sh->tx.prod, atomic_load(&sh->tx.prod) + f.lay.g.sock_tx_bytes + 1);
    fx_poll(&f);
    ck_assert_uint_ge(fx_drop(&f, MOAT_DROP_BOUNDARY), b0 + 3);
    /* an impossible consumer index on the rx ring: delivery refused */
    atomic_store(&sh->rx.cons, 0x80000000u);
    fx_inject_udp(&f, 1000, 9, "x", 1);
    ck_assert_uint_ge(fx_drop(&f, MOAT_DROP_BOUNDARY), b0 + 4);
    /* the other socket is unaffected */
    ck_assert_int_eq(fx_sendto(&f, ok, FX_R_IP, 7, "fine", 4), 0);
    ck_assert_uint_eq(fx_ntx(&f), 1);
    fx_inject_udp(&f, 1000, 10, "y", 1);
    ck_assert_uint_eq(fx_rx_count(&f, ok), 1);
    fx_teardown(&f);
}
END_TEST

/* mcore_shutdown frees every slot, ARP queue and reassembly buffer. */
START_TEST(shutdown_releases_all)
{
    struct fx f;
    fx_init(&f);
    uint32_t h = fx_udp_bound(&f, 0, 9);
    ck_assert_int_eq(fx_sendto(&f, h, FX_R_IP, 7, "queued", 6), 0);   /* waits for ARP */
    uint8_t fr[128], d[24];
    memset(d, 1, sizeof d);
    struct fx_ip ip = FX_IP(.proto = 17, .mf = true, .id = 77);
    size_t n = fx_ip4(&f, 0, fr, &ip, d, sizeof d);
    fx_inject(&f, 0, fr, n);                                         /* held fragment */
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 2);
    mcore_shutdown(f.core, f.now);
    ck_assert_uint_eq(fx_stats(&f).pkt_in_use, 0);
    ck_assert_uint_eq(fx_sock_status(&f, h), 0);
    ck_assert_int_eq(fx_bind(&f, h, 0, 10), MOAT_E_BADHANDLE);
    memset(f.socks, 0, f.lay.g.max_sockets * sizeof *f.socks);
    fx_teardown(&f);
}
END_TEST

static Suite *boundary_suite(void)
{
    Suite *s = suite_create("boundary");
    TCase *tl = tcase_create("layout");
    tcase_add_test(tl, layout_geometries);
    tcase_add_test(tl, layout_rejects);
    tcase_add_test(tl, region_init_check);
    tcase_add_test(tl, msg_catalog);
    tcase_add_test(tl, handles);
    suite_add_tcase(s, tl);
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, config_defaults);
    tcase_add_test(tc, config_check_rejects);
    tcase_add_test(tc, err_and_drop_tables);
    tcase_add_test(tc, mcore_init_args);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("hostile");
    tcase_set_timeout(th, 30);
    tcase_add_test(th, two_cores_independent);
    tcase_add_test(th, ctl_hostile_requests);
    tcase_add_test(th, ctl_impossible_index);
    tcase_add_test(th, sock_ring_hostile);
    tcase_add_test(th, shutdown_releases_all);
    suite_add_tcase(s, th);
    return s;
}

MOAT_CHECK_MAIN(boundary_suite)
