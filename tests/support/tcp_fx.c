/* SPDX-License-Identifier: MIT */
/*
 * TCP fixtures: segment builder and parser at the representation level,
 * handshakes driven through the real stack, the application side of stream
 * sockets. See tcp_fx.h. Built on tests/support/fx.c; holds no scenario.
 */
#include "tcp_fx.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/tcp_priv.h"
#include "support/fx6.h"

static bool tfx_v6;             /* tfx_pin_ip6 */

void tfx_pin_ip6(bool on)
{
    tfx_v6 = on;
}

bool tfx_ip6(void)
{
    return tfx_v6;
}

/* ---- segments ------------------------------------------------------------- */

size_t tfx_build(uint8_t *out, uint32_t src, uint32_t dst, const struct tcp_repr *r)
{
    struct hdr_tcp_opts o = {.has_mss = r->mss != 0, .mss = r->mss,
                              .has_ws = r->ws >= 0, .ws = (uint8_t)(r->ws >= 0 ? r->ws : 0),
                              .sack_ok = r->sack_perm, .ts_ok = r->ts,
                              .tsval = r->tsval, .tsecr = r->tsecr};
    ck_assert_uint_le(r->n_sack, HDR_TCP_SACK_MAX);
    for (unsigned i = 0; i < r->n_sack; i++) {
        o.sack[i].l = r->sack[i][0];
        o.sack[i].r = r->sack[i][1];
    }
    o.n_sack = (uint8_t)r->n_sack;
    /* Every option the test asked for must fit (the writer drops SACK
     * blocks that do not). */
    unsigned n = hdr_tcp_opts_emit(&o, out + HDR_TCP_LEN);
    struct hdr_tcp_opts back;
    struct hdr_tcp th = {.hlen = (uint8_t)(HDR_TCP_LEN + n)};
    hdr_tcp_opts_parse(out, &th, &back);
    ck_assert_uint_eq(back.n_sack, o.n_sack);
    unsigned hlen = HDR_TCP_LEN + n;
    th = (struct hdr_tcp){.sport = r->sport, .dport = r->dport, .seq = r->seq, .ack = r->ack,
                           .hlen = (uint8_t)hlen, .flags = r->flags, .wnd = r->wnd};
    hdr_tcp_emit(&th, out);
    /* Knobs for broken headers: the data offset and the reserved bits. */
    unsigned doff = r->doff ? (unsigned)r->doff : hlen / 4;
    out[12] = (uint8_t)((doff << 4) | (r->rsvd & 0x0fu));
    if (r->len)
        memcpy(out + hlen, r->data, r->len);
    size_t total = hlen + r->len;
    uint16_t ck = fx_l4_cksum(src, dst, 6, out, total);
    if (r->bad_cksum)
        ck ^= 0x5a5a;
    wr16(out + 16, ck);
    ck_assert_uint_le(r->cut, total);
    return total - r->cut;
}

/* @p r as an IPv6 segment (checksum with the IPv6 pseudo-header). */
static void tfx_inject6(struct fx *f, const struct tcp_repr *r)
{
    static uint8_t seg[FX_FRAME_MAX], frame[FX_FRAME_MAX + 64];
    const uint8_t *src = r->src6 ? r->src6 : fx6_r_ip, *dst = r->dst6 ? r->dst6 : fx6_l_ip;
    ck_assert_uint_le(r->len, 9000);
    struct tcp_repr b = *r;
    b.bad_cksum = false;
    b.cut = 0;
    size_t len = tfx_build(seg, 0, 0, &b);
    seg[16] = seg[17] = 0;
    uint16_t ck = fx6_l4_cksum(src, dst, 6, seg, len);
    if (r->bad_cksum)
        ck ^= 0x5a5a;
    wr16(seg + 16, ck);
    ck_assert_uint_le(r->cut, len);
    size_t flen = fx6_frame(f, frame, &(struct fx6_ip){.src = src, .dst = dst, .nh = 6,
                                                      .plen = -1},
                            seg, len - r->cut);
    /* the traffic class (ECN) of the fixed header */
    frame[14] = (uint8_t)(0x60u | (r->tos >> 4));
    frame[15] = (uint8_t)((frame[15] & 0x0fu) | (uint8_t)(r->tos << 4));
    fx_inject(f, 0, frame, flen);
}

void tfx_inject(struct fx *f, const struct tcp_repr *r)
{
    static uint8_t seg[FX_FRAME_MAX], frame[FX_FRAME_MAX + 64];
    if (r->af == 6 || (r->af == 0 && tfx_v6)) {
        tfx_inject6(f, r);
        return;
    }
    uint32_t src = r->src ? r->src : FX_R_IP;
    uint32_t dst = r->dst ? r->dst : (r->to_bcast ? FX_BCAST_IP : FX_L_IP);
    ck_assert_uint_le(r->len, 9000);
    size_t len = tfx_build(seg, src, dst, r);
    size_t flen = fx_ip4(f, 0, frame,
                         &FX_IP(.proto = 6, .src = src, .dst = dst, .df = true, .tos = r->tos,
                                .eth_dst = r->to_bcast ? fx_bcast_mac : NULL),
                         seg, len);
    fx_inject(f, 0, frame, flen);
}

/* A captured frame as a whole IPv6 TCP segment into @p r (addresses,
 * traffic class, length); its TCP bytes in @p l4/@p l4_len, their
 * checksum check (0: right) in @p ck. */
static bool tfx_parse6(const struct fx_pkt *raw, struct tcp_repr *r, const uint8_t **l4,
                       size_t *l4_len, uint16_t *ck)
{
    struct fx6_pkt p;
    if (!fx6_parse(raw->raw, raw->len, &p) || p.proto != 6 || p.has_frag)
        return false;
    memset(r, 0, sizeof(*r));
    *ck = fx6_l4_cksum(p.src, p.dst, 6, p.l4, p.l4_len);
    r->af = 6;
    memcpy(r->ip6_src, p.src, 16);
    memcpy(r->ip6_dst, p.dst, 16);
    r->ip_len = (uint32_t)(40u + p.plen);
    r->tos = p.tclass;
    *l4 = p.l4;
    *l4_len = p.l4_len;
    return true;
}

bool tfx_parse(const struct fx *f, unsigned i, struct tcp_repr *r)
{
    struct fx_pkt p = fx_tx_pkt(f, i);
    uint16_t ck;
    if (!p.is_ip) {
        if (!tfx_parse6(&p, r, &p.l4, &p.l4_len, &ck))
            return false;
    } else {
        if (p.proto != 6 || p.mf || p.frag_off)
            return false;
        memset(r, 0, sizeof(*r));
        ck = fx_l4_cksum(p.src, p.dst, 6, p.l4, p.l4_len);
        r->af = 4;
        r->src = p.src;
        r->dst = p.dst;
        r->ip_len = p.tot_len;
        r->tos = p.tos;
    }
    ck_assert_uint_ge(p.l4_len, 20);
    ck_assert_msg(ck == 0, "transmitted TCP segment %u (IPv%u) has a bad checksum", i, r->af);
    struct hdr_tcp th;
    struct hdr_tcp_opts o;
    int err = hdr_tcp_parse(p.l4, p.l4_len, &th);
    ck_assert_msg(err == HDR_OK, "transmitted TCP segment %u: %s", i, hdr_strerror(err));
    hdr_tcp_opts_parse(p.l4, &th, &o);
    ck_assert_msg(!o.bad, "transmitted TCP segment %u has a malformed option", i);
    const uint8_t *h = p.l4;
    unsigned hlen = th.hlen;
    r->sport = th.sport;
    r->dport = th.dport;
    r->seq = th.seq;
    r->ack = th.ack;
    r->doff = (int)(hlen / 4);
    r->flags = th.flags;
    r->wnd = th.wnd;
    r->opt_len = hlen - HDR_TCP_LEN;
    r->mss = o.has_mss ? o.mss : 0;
    r->ws = o.has_ws ? o.ws : -1;
    r->sack_perm = o.sack_ok;
    r->ts = o.ts_ok;
    r->tsval = o.tsval;
    r->tsecr = o.tsecr;
    r->n_sack = o.n_sack;
    for (unsigned b = 0; b < o.n_sack; b++) {
        r->sack[b][0] = o.sack[b].l;
        r->sack[b][1] = o.sack[b].r;
    }
    r->data = h + hlen;
    r->len = (uint32_t)(p.l4_len - hlen);
    return true;
}

struct tcp_repr tfx_tx(const struct fx *f, unsigned i)
{
    struct tcp_repr r;
    ck_assert_msg(tfx_parse(f, i, &r), "frame %u is not a TCP segment", i);
    return r;
}

unsigned tfx_ntcp(const struct fx *f)
{
    unsigned n = 0;
    struct tcp_repr r;
    for (unsigned i = 0; i < fx_ntx(f); i++)
        if (tfx_parse(f, i, &r))
            n++;
    return n;
}

/* ---- set-up ------------------------------------------------------------------ */

static int tfx_cong_pin = -1;

void tfx_pin_cong(int algo)
{
    tfx_cong_pin = algo;
}

void tfx_config(struct fx *f)
{
    if (tfx_v6)
        fx6_config(f);
    else
        fx_config(f);
    f->cfg.tcp_msl_ms = 1000;
    f->cfg.max_sockets = 8;
    if (tfx_cong_pin >= 0)
        f->cfg.tcp_cong = (uint8_t)tfx_cong_pin;
}

void tfx_start(struct fx *f)
{
    fx_start(f);
    fx_arp_seed(f);
    if (tfx_v6) {
        fx_advance(f, 1000);    /* the start-up MLD reports (fx6_init) */
        fx6_nd_seed(f);
    }
    fx_tx_clear(f);
}

void tfx_init(struct fx *f)
{
    tfx_config(f);
    tfx_start(f);
}

void tfx_restart_iss(struct fx *f, uint32_t iss)
{
    tfx_teardown(f);
    tfx_config(f);
    f->iss_hook = 1;
    f->iss_fixed = iss;
    tfx_start(f);
}

/* Hot paths use ck_abort_msg on failure only: every passing ck_assert
 * costs Check a write() to record the location. */
static struct fx_app_sock *tfx_as(struct fx *f, uint32_t h)
{
    uint32_t idx = moat_handle_idx(h);
    if (idx >= f->lay.g.max_sockets || f->socks[idx].handle != h)
        ck_abort_msg("handle 0x%x is not open here", h);
    return &f->socks[idx];
}

uint32_t tfx_stream_open(struct fx *f)
{
    uint32_t h = 0;
    ck_assert_int_eq(fx_sock_open(f, MOAT_SOCK_STREAM, &h), 0);
    return h;
}

int tfx_listen(struct fx *f, uint32_t h, uint32_t backlog)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = MOAT_MSG_LISTEN;
    req.sock = h;
    req.body.listen.backlog = backlog;
    return fx_call(f, &req, &resp);
}

int tfx_accept(struct fx *f, uint32_t lh, uint32_t *child)
{
    return tfx_accept_peer(f, lh, child, NULL);
}

int tfx_accept_peer(struct fx *f, uint32_t lh, uint32_t *child, struct moat_m_addr *peer)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = MOAT_MSG_ACCEPT;
    req.sock = lh;
    int rc = fx_call(f, &req, &resp);
    if (rc != 0)
        return rc;
    if (peer != NULL)
        *peer = resp.body.resp.remote;
    uint32_t h = resp.body.resp.sock;
    uint32_t idx = moat_handle_idx(h);
    ck_assert_uint_lt(idx, f->lay.g.max_sockets);
    ck_assert_uint_eq(f->socks[idx].handle, 0);
    struct fx_app_sock *as = &f->socks[idx];
    struct moat_sock_sh *sh = moat_region_sock(f->region, &f->lay, idx);
    ck_assert_int_eq(moat_ring_attach(&as->rx, &sh->rx,
                                      moat_region_rx_data(f->region, &f->lay, idx),
                                      f->lay.g.sock_rx_bytes, atomic_load(&sh->rx.cons)), 0);
    ck_assert_int_eq(moat_ring_attach(&as->tx, &sh->tx,
                                      moat_region_tx_data(f->region, &f->lay, idx),
                                      f->lay.g.sock_tx_bytes, atomic_load(&sh->tx.prod)), 0);
    as->handle = h;
    *child = h;
    return 0;
}

int tfx_shutdown(struct fx *f, uint32_t h, int how)
{
    struct moat_msg req, resp;
    memset(&req, 0, sizeof req);
    req.type = MOAT_MSG_SHUTDOWN;
    req.sock = h;
    req.body.shut.how = (uint32_t)how;
    return fx_call(f, &req, &resp);
}

int tfx_abort(struct fx *f, uint32_t h)
{
    return fx_sock_end(f, h, MOAT_MSG_ABORT);
}

uint32_t tfx_write(struct fx *f, uint32_t h, const void *data, uint32_t len)
{
    struct fx_app_sock *as = tfx_as(f, h);
    uint32_t space = 0;
    if (moat_ring_space(&as->tx, &space) != 0)
        ck_abort_msg("send ring indices broken");
    if (len > space)
        len = space;
    moat_ring_put(&as->tx, 0, data, len);
    moat_ring_publish(&as->tx, len);
    fx_poll(f);
    return len;
}

uint32_t tfx_read(struct fx *f, uint32_t h, void *buf, uint32_t cap)
{
    struct fx_app_sock *as = tfx_as(f, h);
    uint32_t avail = 0;
    if (moat_ring_avail(&as->rx, &avail) != 0)
        ck_abort_msg("receive ring indices broken");
    if (avail > cap)
        avail = cap;
    if (buf != NULL)
        moat_ring_get(&as->rx, 0, buf, avail);
    moat_ring_consume(&as->rx, avail);
    fx_poll(f);
    return avail;
}

struct tcp_cb *tfx_tcb(struct fx *f, uint32_t h)
{
    uint32_t idx = moat_handle_idx(h);
    if (idx >= f->core->n_socks)
        ck_abort_msg("bad handle 0x%x", h);
    return &f->core->tcp->cbs[idx];
}

int tfx_state(struct fx *f, uint32_t h)
{
    return tfx_tcb(f, h)->state;
}

struct tcp_tw *tfx_tw(struct fx *f, uint16_t lport, uint16_t rport)
{
    struct tcp_ips ip = {FX_L_IP, FX_R_IP, NULL, NULL};
    if (tfx_v6) {
        ip.l = tcp_fold6(f->core, fx6_l_ip);
        ip.r = tcp_fold6(f->core, fx6_r_ip);
        ip.l6 = fx6_l_ip;
        ip.r6 = fx6_r_ip;
    }
    return tcp_tw_find(f->core, &ip, lport, rport);
}

unsigned tfx_slots_used(struct fx *f)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < f->core->n_socks; i++)
        if (f->core->socks[i].type != 0)
            n++;
    return n;
}

void tfx_pattern(uint8_t *buf, uint32_t len, uint32_t off)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)((off + i) * 7u + ((off + i) >> 8));
}

/* ---- connections ---------------------------------------------------------------- */

static void tfx_peer_opts(struct tcp_repr *r, const struct tfx_opts *o)
{
    r->mss = o->mss;
    r->ws = o->ws;
    r->sack_perm = o->sack;
    r->ts = o->ts;
    r->wnd = o->wnd ? o->wnd : 65535;
}

void tfx_connect(struct fx *f, struct tfx_conn *k, const struct tfx_opts *o)
{
    memset(k, 0, sizeof(*k));
    k->h = tfx_stream_open(f);
    fx_tx_clear(f);
    if (tfx_v6)
        ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_CONNECT, k->h, fx6_r_ip, 0, TFX_RPORT),
                         MOAT_E_INPROGRESS);
    else
        ck_assert_int_eq(fx_connect(f, k->h, FX_R_IP, TFX_RPORT), MOAT_E_INPROGRESS);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr syn = tfx_tx(f, 0);
    /* tcp_ecn 1: every connect asks for ECN (RFC 3168 6.1.1) */
    ck_assert_uint_eq(syn.flags, TH_SYN | (f->cfg.tcp_ecn == 1 ? TH_ECE | TH_CWR : 0u));
    k->iss = syn.seq;
    k->lport = syn.sport;
    k->rport = TFX_RPORT;
    k->mss = syn.mss;
    k->irs = o->iss ? o->iss : TFX_PEER_ISS;
    k->ts = o->ts;
    k->peer_ts = 1000;
    fx_tx_clear(f);
    struct tcp_repr sa = TSEG(.sport = TFX_RPORT, .dport = k->lport, .seq = k->irs,
                              .ack = k->iss + 1,
                              .flags = (uint8_t)(TH_SYN | TH_ACK | (o->ecn ? TH_ECE : 0u)));
    tfx_peer_opts(&sa, o);
    sa.tsval = k->peer_ts;
    sa.tsecr = syn.tsval;
    tfx_inject(f, &sa);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr a = tfx_tx(f, 0);
    ck_assert_uint_eq(a.flags & (TH_SYN | TH_ACK | TH_RST), TH_ACK);
    ck_assert_uint_eq(a.seq, k->iss + 1);
    ck_assert_uint_eq(a.ack, k->irs + 1);
    k->snd_nxt = k->iss + 1;
    k->peer_nxt = k->irs + 1;
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_ESTABLISHED);
    fx_tx_clear(f);
}

void tfx_passive(struct fx *f, struct tfx_conn *k, const struct tfx_opts *o)
{
    memset(k, 0, sizeof(*k));
    k->lh = tfx_stream_open(f);
    static const uint8_t any6[16];
    if (tfx_v6)
        ck_assert_int_eq(fx_addr6_call(f, MOAT_MSG_BIND, k->lh, any6, 0, TFX_LPORT), 0);
    else
        ck_assert_int_eq(fx_bind(f, k->lh, 0, TFX_LPORT), 0);
    ck_assert_int_eq(tfx_listen(f, k->lh, 4), 0);
    k->lport = TFX_LPORT;
    k->rport = TFX_RPORT;
    k->irs = o->iss ? o->iss : TFX_PEER_ISS;
    k->ts = o->ts;
    k->peer_ts = 1000;
    fx_tx_clear(f);
    struct tcp_repr syn = TSEG(.seq = k->irs,
                               .flags = (uint8_t)(TH_SYN | (o->ecn ? TH_ECE | TH_CWR : 0u)));
    tfx_peer_opts(&syn, o);
    syn.tsval = k->peer_ts;
    tfx_inject(f, &syn);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    struct tcp_repr sa = tfx_tx(f, 0);
    /* an ECN-setup SYN is agreed to (ECE alone) unless tcp_ecn is 0 */
    ck_assert_uint_eq(sa.flags, TH_SYN | TH_ACK | (o->ecn && f->cfg.tcp_ecn ? TH_ECE : 0u));
    ck_assert_uint_eq(sa.ack, k->irs + 1);
    k->iss = sa.seq;
    k->mss = sa.mss;
    fx_tx_clear(f);
    struct tcp_repr ack = TSEG(.seq = k->irs + 1, .ack = k->iss + 1, .flags = TH_ACK,
                               .wnd = o->wnd ? o->wnd : 65535, .ts = o->ts,
                               .tsval = k->peer_ts, .tsecr = sa.tsval);
    tfx_inject(f, &ack);
    fx_expect_no_tx(f);
    ck_assert_int_eq(tfx_accept(f, k->lh, &k->h), 0);
    k->snd_nxt = k->iss + 1;
    k->peer_nxt = k->irs + 1;
    ck_assert_int_eq(tfx_state(f, k->h), TCPS_ESTABLISHED);
    fx_tx_clear(f);
}

struct tcp_repr tfx_seg(const struct tfx_conn *k, uint8_t flags, const void *data,
                        uint32_t len)
{
    struct tcp_repr r = TSEG(.sport = k->rport, .dport = k->lport, .seq = k->peer_nxt,
                             .ack = k->snd_nxt, .flags = flags, .data = data, .len = len,
                             .ts = k->ts, .tsval = k->peer_ts);
    return r;
}

void tfx_peer_send(struct fx *f, struct tfx_conn *k, const void *data, uint32_t len,
                   uint8_t extra_flags)
{
    struct tcp_repr r = tfx_seg(k, (uint8_t)(TH_ACK | extra_flags), data, len);
    k->peer_nxt += len + ((extra_flags & TH_FIN) ? 1u : 0u);
    tfx_inject(f, &r);
}

void tfx_to_time_wait(struct fx *f, struct tfx_conn *k)
{
    ck_assert_int_eq(fx_close(f, k->h), 0);
    k->snd_nxt++;
    tfx_peer_ack(f, k, k->snd_nxt, 65535);
    tfx_peer_send(f, k, NULL, 0, TH_FIN);
    ck_assert_ptr_nonnull(tfx_tw(f, k->lport, k->rport));
}

void tfx_peer_ack(struct fx *f, struct tfx_conn *k, uint32_t ack, uint16_t wnd)
{
    struct tcp_repr r = tfx_seg(k, TH_ACK, NULL, 0);
    r.ack = ack;
    r.wnd = wnd;
    tfx_inject(f, &r);
}

void tfx_teardown(struct fx *f)
{
    if (!f->started)
        return;
    for (uint32_t i = 0; i < f->lay.g.max_sockets; i++) {
        uint32_t h = f->socks[i].handle;
        if (h != 0 && f->core->socks[i].type == MOAT_SOCK_STREAM)
            ck_assert_int_eq(tfx_abort(f, h), 0);
    }
    fx_teardown(f);
}
