/* SPDX-License-Identifier: MIT */
/*
 * Per-parser fuzz harness: each record fuzzes one layer (Ethernet, ARP,
 * IPv4 with options, IPv4 fragments, ICMP, UDP, TCP header and options)
 * and the harness builds everything around the fuzzed part correctly --
 * outer headers, lengths, checksums, addresses -- so that the parser of
 * that layer is reached without the fuzzer first having to pass the
 * checks of the layers below it. (fuzz_input.c is the whole-frame harness,
 * where the fuzzer must build everything itself.)
 *
 * Stack: 192.0.2.1, static ARP for the peer 192.0.2.2, UDP sockets on 5000
 * and 5001 (connected to the peer's port 7), a TCP listener on port 80.
 *
 * Input: records  op u8 | len u16 (big-endian, capped) | body[len]
 *   op bits 0-2: layer
 *     0 ETH   body is the frame; dst MAC forced to ours unless V1
 *     1 ARP   Ethernet header + body; V2: hardware/protocol fields made
 *             valid (Ethernet/IPv4, 6/4) so the fuzzer works on op and
 *             addresses; V1: sent to broadcast
 *     2 IP    Ethernet + body as an IPv4 datagram: version 4, destination
 *             us, header checksum and (unfragmented) L4 checksum fixed;
 *             V1: total length = body length; V2: source = the peer
 *     3 FRAG  one fragment: body = id u8 | proto u8 | off/MF u16 | payload;
 *             header built valid around it (reassembly)
 *     4 ICMP  valid IPv4 header + body as the message, checksum fixed;
 *             V1: after 8 bytes, quote the last IPv4 datagram the stack
 *             sent (header + 8 bytes), so errors match real flows
 *     5 UDP   valid IPv4 header + body as UDP, checksum fixed; V1: keep
 *             the fuzzed length field (else = body); V2: dport 5000/5001
 *     6 TCP   one segment to port 80 built from body (see tcp_rec)
 *     7 APP   the application accepts, reads and echoes what arrived
 *   op bits 3-4: clock advance after the record: 0, 20 ms, 1 s, 40 s
 *   op bit 5: RAW, no checksum fixing (the checksum checks themselves)
 *   op bit 6: V1, bit 7: V2 (variants per layer, above)
 *
 * Invariants: every frame the stack sends is well formed (fz.c); TCP data
 * the application reads is exactly the peer's byte pattern (fz_pattern);
 * no packet buffer or slot is held after the timers and shutdown.
 */
#include <stdlib.h>
#include <string.h>

#include "fz.h"

#define P_NPEER 4u
#define P_RPORT 40000u

struct peer {
    int known;                  /* we sent a SYN: iss valid */
    uint32_t iss;               /* our ISS as the peer */
    uint32_t nxt;               /* our next sequence number */
    int heard;                  /* the stack sent something to this port */
    uint32_t snd_end;           /* highest seq + len the stack sent */
};

struct fzp {
    struct fz z;
    uint32_t h_udp, h_conn, h_lis;
    struct moat_ring rx[2], tx[2];
    struct peer peer[P_NPEER];
    uint32_t acc[4];            /* accepted handles */
    uint32_t acc_pos[4];        /* bytes read so far */
    uint32_t acc_irs[4];        /* the peer's ISS as the connection took it */
    struct moat_ring arx[4], atx[4];
};

static void p_hook(void *ctx, const uint8_t *f, size_t len)
{
    struct fzp *p = ctx;
    struct fz_tseg g;
    (void)len;
    if (!fz_tcp_parse(f, &g) || g.dport < P_RPORT || g.dport >= P_RPORT + P_NPEER)
        return;
    struct peer *q = &p->peer[g.dport - P_RPORT];
    fz_track_end(&g, &q->heard, &q->snd_end);
}

static void p_setup(struct fzp *p)
{
    memset(p, 0, sizeof *p);
    struct fz *z = &p->z;
    fz_config(z);
    z->cfg.max_sockets = 8;     /* 3 fixed sockets + accepted connections */
    fz_start(z);
    z->hook = p_hook;
    z->hook_ctx = p;
    p->h_udp = fz_sock(z, MOAT_SOCK_DGRAM, 5000, 0, 0, 0);
    p->h_conn = fz_sock(z, MOAT_SOCK_DGRAM, 5001, FZ_R_IP, 7, 0);
    if (!p->h_udp || !p->h_conn)
        fz_fail("udp sockets");
    fz_rings(z, p->h_udp, &p->rx[0], &p->tx[0]);
    fz_rings(z, p->h_conn, &p->rx[1], &p->tx[1]);
    p->h_lis = fz_sock(z, MOAT_SOCK_STREAM, 80, 0, 0, 1);
}

/* The application: echo datagrams, accept connections, read their data
 * (checking every byte against the peer's pattern). */
static void p_app(struct fzp *p)
{
    struct fz *z = &p->z;
    for (unsigned k = 0; k < 2; k++)
        fz_echo_dgrams(&p->rx[k], &p->tx[k], k == 1);
    if (!p->h_lis)
        return;
    for (unsigned i = 0; i < 4; i++) {
        if (p->acc[i])
            continue;
        struct moat_msg m, r;
        memset(&m, 0, sizeof m);
        m.type = MOAT_MSG_ACCEPT;
        m.sock = p->h_lis;
        if (fz_call(z, &m, &r) != 0)
            break;
        p->acc[i] = r.body.resp.sock;
        p->acc_irs[i] = z->core->tcp->cbs[moat_handle_idx(p->acc[i])].irs;
        p->acc_pos[i] = 0;
        fz_rings(z, p->acc[i], &p->arx[i], &p->atx[i]);
    }
    for (unsigned i = 0; i < 4; i++) {
        if (!p->acc[i])
            continue;
        uint32_t avail;
        uint8_t buf[2048];
        if (moat_ring_avail(&p->arx[i], &avail) != 0)
            fz_fail("core published an impossible stream rx index");
        if (avail > sizeof buf)
            avail = sizeof buf;
        moat_ring_get(&p->arx[i], 0, buf, avail);
        moat_ring_consume(&p->arx[i], avail);
        /* every byte the peer sends at sequence number s is fz_pattern(s) */
        uint32_t base = p->acc_irs[i] + 1u + p->acc_pos[i];
        for (uint32_t k = 0; k < avail; k++)
            if (buf[k] != fz_pattern(base + k))
                fz_fail("stream delivered a byte the peer never sent there");
        p->acc_pos[i] += avail;
    }
    mcore_poll(z->core, z->now);
}

/*
 * TCP record body:
 *   flags u8 | ctl u8 | wnd u16 | seq u32 | ack u32 | opts[olen] | paylen u8
 *   ctl bits 0-1: peer (source port 40000 + i)
 *   ctl bit 2: AUTO: seq = the peer's next + (seq field as a small signed
 *              delta), ack = what the stack sent last + (ack field's low
 *              byte as a delta); a SYN under AUTO starts a new peer ISS
 *   ctl bits 3-7: olen = 2 * value (0..62, at most 40 used)
 */
static void tcp_rec(struct fzp *p, const uint8_t *b, size_t n)
{
    uint8_t buf[12 + 40 + 1];
    memset(buf, 0, sizeof buf);
    memcpy(buf, b, n < sizeof buf ? n : sizeof buf);
    struct fz_seg s;
    memset(&s, 0, sizeof s);
    unsigned i = buf[1] & 3u;
    struct peer *q = &p->peer[i];
    s.sport = (uint16_t)(P_RPORT + i);
    s.dport = 80;
    s.flags = buf[0];
    s.wnd = rd16(buf + 2);
    s.seq = rd32(buf + 4);
    s.ack = rd32(buf + 8);
    size_t olen = (size_t)(buf[1] >> 3) * 2u;
    if (olen > 40)
        olen = 40;
    if (olen > (n > 12 ? n - 12 : 0))
        olen = n > 12 ? n - 12 : 0;
    s.opt = b + 12;
    s.opt_len = olen;
    s.len = (12 + olen < n) ? b[12 + olen] : 0;
    if (buf[1] & 4u) {
        if ((s.flags & 0x02) || !q->known) {
            s.seq = q->known ? q->nxt + 100000u : 0x10000000u + s.seq % 1000u;
        } else {
            s.seq = q->nxt + (uint32_t)(int32_t)(int8_t)(s.seq & 0xff);
        }
        s.ack = q->heard ? q->snd_end + (uint32_t)(int32_t)(int8_t)(s.ack & 0xff) : s.ack;
    }
    if (s.flags & 0x02) {
        q->known = 1;
        q->iss = s.seq;
        q->nxt = s.seq + 1u;
        q->heard = 0;
    }
    uint32_t end = s.seq + ((s.flags & 0x02) ? 1u : 0u) + s.len + ((s.flags & 0x01) ? 1u : 0u);
    if (q->known && TCP_SEQ_GT(end, q->nxt) && !(s.flags & 0x04))
        q->nxt = end;
    fz_tcp_inject(&p->z, &s);
}

static void frag_rec(struct fzp *p, const uint8_t *b, size_t n, int raw)
{
    uint8_t fr[FZ_MAX_FRAME];
    if (n < 4)
        return;
    size_t pl = n - 4;
    if (pl > FZ_MTU - 20)
        pl = FZ_MTU - 20;
    fz_eth(fr, 0x0800);
    uint8_t *ip = fr + 14;
    fz_ip4(ip, b[1], pl, 0);
    wr16(ip + 4, b[0]);
    wr16(ip + 6, (uint16_t)(rd16(b + 2) & 0x3fff));
    if (!raw) {
        wr16(ip + 10, 0);
        wr16(ip + 10, (uint16_t)~fz_sum16(0, ip, 20));
    }
    memcpy(ip + 20, b + 4, pl);
    fz_input(&p->z, fr, 14 + 20 + pl);
}

/* The last IPv4 datagram the stack sent, for ICMP quotes. */
static size_t last_ip(const struct fz *z, const uint8_t **ip)
{
    for (unsigned i = 0; i < FZ_CAP && i < z->n_cap; i++) {
        unsigned k = (z->n_cap - 1u - i) % FZ_CAP;
        if (z->cap_len[k] >= 14 + 28 && rd16(z->cap[k] + 12) == 0x0800) {
            *ip = z->cap[k] + 14;
            return z->cap_len[k] - 14u;
        }
    }
    return 0;
}

static void one_rec(struct fzp *p, uint8_t op, const uint8_t *b, size_t n)
{
    struct fz *z = &p->z;
    uint8_t fr[FZ_MAX_FRAME + 64];
    unsigned layer = op & 7u;
    int raw = (op & 0x20) != 0, v1 = (op & 0x40) != 0, v2 = (op & 0x80) != 0;
    uint8_t *ip = fr + 14, *l4 = ip + 20;
    size_t room = FZ_MTU - 20;
    if (n > room)
        n = room;
    switch (layer) {
    case 0:
        memcpy(fr, b, n);
        if (!v1 && n >= 6)
            memcpy(fr, fz_l_mac, 6);
        fz_input(z, fr, n);
        break;
    case 1:
        fz_eth(fr, 0x0806);
        if (v1)
            memset(fr, 0xff, 6);
        memcpy(fr + 14, b, n);
        if (v2 && n >= 6) {
            wr16(fr + 14, 1);
            wr16(fr + 16, 0x0800);
            fr[18] = 6;
            fr[19] = 4;
        }
        fz_input(z, fr, 14 + n);
        break;
    case 2:
        fz_eth(fr, 0x0800);
        memcpy(ip, b, n);
        if (!raw && n >= 20) {
            ip[0] = (uint8_t)(0x40 | ((ip[0] & 15) < 5 ? 5 : (ip[0] & 15)));
            if (v1)
                wr16(ip + 2, (uint16_t)n);
            if (v2)
                wr32(ip + 12, FZ_R_IP);
            wr32(ip + 16, FZ_L_IP);
            fz_fix(fr, 14 + n);
        }
        fz_input(z, fr, 14 + n);
        break;
    case 3:
        frag_rec(p, b, n, raw);
        break;
    case 4: {
        size_t m = 0;
        const uint8_t *q;
        size_t ql = v1 ? last_ip(z, &q) : 0;
        size_t head = n < 8 ? n : 8;
        memcpy(l4, b, head);
        m = head;
        if (ql) {
            size_t qn = (size_t)(q[0] & 15) * 4 + 8;
            if (qn > ql)
                qn = ql;
            memcpy(l4 + m, q, qn);
            m += qn;
        }
        if (m + (n - head) > room)
            n = head + (room - m);
        memcpy(l4 + m, b + head, n - head);
        m += n - head;
        fz_eth(fr, 0x0800);
        fz_ip4(ip, 1, m, 0);
        if (!raw && m >= 4) {
            wr16(l4 + 2, 0);
            wr16(l4 + 2, (uint16_t)~fz_sum16(0, l4, m));
        }
        fz_input(z, fr, 14 + 20 + m);
        break;
    }
    case 5:
        fz_eth(fr, 0x0800);
        fz_ip4(ip, 17, n, 0);
        memcpy(l4, b, n);
        if (n >= 8) {
            if (v2)
                wr16(l4 + 2, (uint16_t)(5000u + (l4[1] & 1u)));
            if (!v1)
                wr16(l4 + 4, (uint16_t)n);
            if (!raw) {
                size_t ul = rd16(l4 + 4);
                if (ul >= 8 && ul <= n) {
                    wr16(l4 + 6, 0);
                    uint16_t c = fz_l4sum(ip, 17, l4, ul);
                    wr16(l4 + 6, c ? c : 0xffff);
                }
            }
        }
        fz_input(z, fr, 14 + 20 + n);
        break;
    case 6:
        tcp_rec(p, b, n);
        break;
    default:
        p_app(p);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t adv_us[4] = {0, 20000, 1000000, 40000000};
    static struct fzp one;       /* static: the snapshot's address (fz.h) */
    struct fzp *p = &one;
    if (!fz_restore(p, sizeof *p)) {
        p_setup(p);
        fz_snapshot(p, sizeof *p);
    }
    size_t off = 0;
    for (unsigned recs = 0; off + 3 <= size && recs < 256; recs++) {
        uint8_t op = data[off];
        size_t len = rd16(data + off + 1);
        off += 3;
        if (len > size - off)
            len = size - off;
        one_rec(p, op, data + off, len);
        off += len;
        fz_run_timers(&p->z, p->z.now + adv_us[(op >> 3) & 3u]);
    }
    p_app(p);
    fz_finish(&p->z);
    return 0;
}
