/* SPDX-License-Identifier: MIT */
/*
 * The header layer (hdr.h): header shapes of Ethernet II, IPv4, UDP and
 * TCP, parsed against the bytes that arrived and emitted from plain
 * structs. No policy: what a header means is the protocol code's.
 */
#include "hdr.h"

#include <string.h>

#include "bytes.h"
#include "cksum.h"

const char *hdr_strerror(int err)
{
    switch (err) {
    case HDR_OK:
        return "well-formed";
    case HDR_E_SHORT:
        return "shorter than its header";
    case HDR_E_VERSION:
        return "wrong IP version";
    case HDR_E_HDRLEN:
        return "header length out of range";
    case HDR_E_TOTLEN:
        return "length field out of range";
    case HDR_E_CHECKSUM:
        return "header checksum wrong";
    default:
        return "unknown header error";
    }
}

/* ---- Ethernet II ---------------------------------------------------------- */

int hdr_eth_parse(const uint8_t *f, size_t len, struct hdr_eth *e)
{
    if (len < HDR_ETH_LEN)
        return HDR_E_SHORT;
    e->dst = f;
    e->src = f + 6;
    e->type = rd16(f + 12);
    return HDR_OK;
}

void hdr_eth_emit(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    wr16(f + 12, type);
}

/* ---- IPv4 ----------------------------------------------------------------- */

int hdr_ip4_parse(const uint8_t *p, size_t len, unsigned flags, struct hdr_ip4 *ip)
{
    if (len < HDR_IP4_LEN)
        return HDR_E_SHORT;
    ip->hlen = (uint8_t)((p[0] & 0x0fu) * 4u);
    ip->tos = p[1];
    ip->tot_len = rd16(p + 2);
    ip->id = rd16(p + 4);
    ip->frag = rd16(p + 6);
    ip->ttl = p[8];
    ip->proto = p[9];
    ip->src = rd32(p + 12);
    ip->dst = rd32(p + 16);
    if ((p[0] >> 4) != 4)
        return HDR_E_VERSION;
    if (ip->hlen < HDR_IP4_LEN || ip->hlen > len)
        return HDR_E_HDRLEN;
    if (ip->tot_len < ip->hlen || ip->tot_len > len)
        return HDR_E_TOTLEN;
    if (!(flags & HDR_IP4_NO_CSUM) && cksum_fold(cksum_add(0, p, ip->hlen)) != 0)
        return HDR_E_CHECKSUM;
    return HDR_OK;
}

void hdr_ip4_emit(const struct hdr_ip4 *ip, uint8_t *p)
{
    p[0] = 0x45;
    p[1] = ip->tos;
    wr16(p + 2, ip->tot_len);
    wr16(p + 4, ip->id);
    wr16(p + 6, ip->frag);
    p[8] = ip->ttl;
    p[9] = ip->proto;
    wr16(p + 10, 0);
    wr32(p + 12, ip->src);
    wr32(p + 16, ip->dst);
    wr16(p + 10, cksum_fold(cksum_add(0, p, HDR_IP4_LEN)));
}

void hdr_ip4_refit(uint8_t *p, uint16_t tot_len, uint16_t frag)
{
    size_t hl = (size_t)(p[0] & 0x0fu) * 4u;
    wr16(p + 2, tot_len);
    wr16(p + 6, frag);
    wr16(p + 10, 0);
    wr16(p + 10, cksum_fold(cksum_add(0, p, hl)));
}

/* ---- UDP ------------------------------------------------------------------ */

int hdr_udp_parse(const uint8_t *u, size_t len, struct hdr_udp *h)
{
    if (len < HDR_UDP_LEN)
        return HDR_E_SHORT;
    h->sport = rd16(u);
    h->dport = rd16(u + 2);
    h->len = rd16(u + 4);
    h->csum = rd16(u + 6);
    if (h->len < HDR_UDP_LEN || h->len > len)
        return HDR_E_TOTLEN;
    return HDR_OK;
}

void hdr_udp_emit(const struct hdr_udp *h, uint8_t *u)
{
    wr16(u, h->sport);
    wr16(u + 2, h->dport);
    wr16(u + 4, h->len);
    wr16(u + 6, h->csum);
}

/* ---- TCP ------------------------------------------------------------------ */

/* Option kinds. */
#define OPT_EOL       0u
#define OPT_NOP       1u
#define OPT_MSS       2u
#define OPT_WS        3u
#define OPT_SACK_PERM 4u
#define OPT_SACK      5u
#define OPT_TS        8u

int hdr_tcp_parse(const uint8_t *h, size_t len, struct hdr_tcp *t)
{
    if (len < HDR_TCP_LEN)
        return HDR_E_SHORT;
    t->sport = rd16(h);
    t->dport = rd16(h + 2);
    t->seq = rd32(h + 4);
    t->ack = rd32(h + 8);
    t->hlen = (uint8_t)((h[12] >> 4) * 4u);
    t->flags = h[13];
    t->wnd = rd16(h + 14);
    t->csum = rd16(h + 16);
    t->urg = rd16(h + 18);
    if (t->hlen < HDR_TCP_LEN || t->hlen > len)
        return HDR_E_HDRLEN;
    return HDR_OK;
}

void hdr_tcp_emit(const struct hdr_tcp *t, uint8_t *h)
{
    wr16(h, t->sport);
    wr16(h + 2, t->dport);
    wr32(h + 4, t->seq);
    wr32(h + 8, t->ack);
    h[12] = (uint8_t)((t->hlen / 4u) << 4);
    h[13] = t->flags;
    wr16(h + 14, t->wnd);
    wr16(h + 16, t->csum);
    wr16(h + 18, t->urg);
}

void hdr_tcp_opts_parse(const uint8_t *h, const struct hdr_tcp *t, struct hdr_tcp_opts *o)
{
    unsigned hlen = t->hlen;
    memset(o, 0, sizeof(*o));
    for (unsigned i = HDR_TCP_LEN; i < hlen;) {
        uint8_t kind = h[i];
        if (kind == OPT_EOL)
            break;
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        unsigned olen = i + 1u < hlen ? h[i + 1] : 0u;
        if (olen < 2 || i + olen > hlen) {
            o->bad = 1;     /* the rest of the list cannot be delimited */
            break;
        }
        const uint8_t *v = h + i + 2;
        switch (kind) {
        case OPT_MSS:
            if (olen == 4) {
                o->has_mss = 1;
                o->mss = rd16(v);
            } else {
                o->bad = 1;
            }
            break;
        case OPT_WS:
            if (olen == 3) {
                o->has_ws = 1;
                o->ws = v[0];
            } else {
                o->bad = 1;
            }
            break;
        case OPT_SACK_PERM:
            if (olen == 2)
                o->sack_ok = 1;
            else
                o->bad = 1;
            break;
        case OPT_SACK:
            if (olen >= 10 && (olen - 2u) % 8u == 0) {
                unsigned n = (olen - 2u) / 8u;  /* at most 4 in 40 option bytes */
                if (n > HDR_TCP_SACK_MAX)
                    n = HDR_TCP_SACK_MAX;
                for (unsigned k = 0; k < n; k++) {
                    o->sack[k].l = rd32(v + 8 * k);
                    o->sack[k].r = rd32(v + 8 * k + 4);
                }
                o->n_sack = (uint8_t)n;
            } else {
                o->bad = 1;
            }
            break;
        case OPT_TS:
            if (olen == 10) {
                o->ts_ok = 1;
                o->tsval = rd32(v);
                o->tsecr = rd32(v + 4);
            } else {
                o->bad = 1;
            }
            break;
        default:
            break;
        }
        i += olen;
    }
}

/* SACK blocks that fit after @p used option bytes. */
static unsigned sack_fit(const struct hdr_tcp_opts *o, unsigned used)
{
    unsigned room = used + 4u + 8u <= HDR_TCP_OPT_MAX ? (HDR_TCP_OPT_MAX - used - 4u) / 8u : 0u;
    unsigned n = o->n_sack < HDR_TCP_SACK_MAX ? o->n_sack : HDR_TCP_SACK_MAX;
    return n < room ? n : room;
}

static unsigned opts_fixed_len(const struct hdr_tcp_opts *o)
{
    return (o->has_mss ? 4u : 0u) + (o->ts_ok ? 12u : o->sack_ok ? 4u : 0u) +
           (o->has_ws ? 4u : 0u);
}

unsigned hdr_tcp_opts_len(const struct hdr_tcp_opts *o)
{
    unsigned n = opts_fixed_len(o);
    unsigned k = sack_fit(o, n);
    return n + (k ? 4u + 8u * k : 0u);
}

unsigned hdr_tcp_opts_emit(const struct hdr_tcp_opts *o, uint8_t *out)
{
    unsigned n = 0;
    if (o->has_mss) {
        out[n++] = OPT_MSS;
        out[n++] = 4;
        wr16(out + n, o->mss);
        n += 2;
    }
    if (o->ts_ok) {
        if (o->sack_ok) {
            out[n++] = OPT_SACK_PERM;
            out[n++] = 2;
        } else {
            out[n++] = OPT_NOP;
            out[n++] = OPT_NOP;
        }
        out[n++] = OPT_TS;
        out[n++] = 10;
        wr32(out + n, o->tsval);
        wr32(out + n + 4, o->tsecr);
        n += 8;
    } else if (o->sack_ok) {
        out[n++] = OPT_NOP;
        out[n++] = OPT_NOP;
        out[n++] = OPT_SACK_PERM;
        out[n++] = 2;
    }
    if (o->has_ws) {
        out[n++] = OPT_NOP;
        out[n++] = OPT_WS;
        out[n++] = 3;
        out[n++] = o->ws;
    }
    unsigned k = sack_fit(o, n);
    if (k > 0) {
        out[n++] = OPT_NOP;
        out[n++] = OPT_NOP;
        out[n++] = OPT_SACK;
        out[n++] = (uint8_t)(2u + 8u * k);
        for (unsigned i = 0; i < k; i++) {
            wr32(out + n, o->sack[i].l);
            wr32(out + n + 4, o->sack[i].r);
            n += 8;
        }
    }
    return n;
}
