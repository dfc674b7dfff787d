/* SPDX-License-Identifier: MIT */
/* IPv6 fixture additions; see fx6.h. */
#include "support/fx6.h"

#include <stdio.h>
#include <string.h>

#include "core/core_priv.h"

const uint8_t fx6_l_ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1};
const uint8_t fx6_r_ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2};
const uint8_t fx6_r_ll[16] = {0xfe, 0x80, [15] = 2};
const uint8_t fx6_all_nodes[16] = {0xff, 0x02, [15] = 1};
/* fx_l_mac 02:00:c0:00:02:01 -> 00:00:c0:ff:fe:00:02:01 */
const uint8_t fx6_l_ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                              0x00, 0x00, 0xc0, 0xff, 0xfe, 0x00, 0x02, 0x01};

void fx6_config(struct fx *f)
{
    fx_config(f);
    struct moat_if_config *ic = &f->cfg.ifs[0];
    ic->no_ip6 = 0;
    ic->no_slaac = 1;
    memcpy(ic->ip6[0], fx6_l_ip, 16);
    ic->ip6_prefix[0] = 64;
    f->cfg.ip6_dad_transmits = 0;
}

void fx6_nd_seed(struct fx *f)
{
    ck_assert_int_eq(mcore_nd_add_static(f->core, 0, fx6_r_ip, fx_r_mac), 0);
    ck_assert_int_eq(mcore_nd_add_static(f->core, 0, fx6_r_ll, fx_r_mac), 0);
}

void fx6_init(struct fx *f)
{
    fx6_config(f);
    fx_start(f);
    fx_advance(f, 1000);
    fx_tx_clear(f);
    fx6_nd_seed(f);
}

uint16_t fx6_l4_cksum(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                      const void *l4, size_t len)
{
    uint32_t s = 0;
    const uint8_t *b = l4;
    for (int i = 0; i < 16; i += 2)
        s += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
    s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + proto;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (len & 1)
        s += (uint32_t)b[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

size_t fx6_frame(const struct fx *f, uint8_t *buf, const struct fx6_ip *ip,
                 const void *payload, size_t len)
{
    const uint8_t *src = ip->src ? ip->src : fx6_r_ip;
    const uint8_t *dst = ip->dst ? ip->dst : fx6_l_ip;
    uint8_t mac[6];
    const uint8_t *edst = ip->eth_dst;
    if (!edst) {
        if (dst[0] == 0xff) {
            mac[0] = mac[1] = 0x33;
            memcpy(mac + 2, dst + 12, 4);
            edst = mac;
        } else {
            edst = f->links[0].link.mac;
        }
    }
    size_t n = fx_eth(buf, edst, fx_r_mac, 0x86dd);
    uint8_t *h = buf + n;
    memset(h, 0, 40);
    h[0] = 0x60;
    wr16(h + 4, (uint16_t)(ip->plen >= 0 ? (size_t)ip->plen : len));
    h[6] = ip->nh;
    h[7] = ip->hlim ? ip->hlim : 64;
    memcpy(h + 8, src, 16);
    memcpy(h + 24, dst, 16);
    memcpy(h + 40, payload, len);
    n += 40 + len;
    while (n < ip->pad_to)
        buf[n++] = 0xa5;
    return n;
}

size_t fx6_icmp(uint8_t *out, const uint8_t src[16], const uint8_t dst[16], uint8_t type,
                uint8_t code, uint32_t rest, const void *body, size_t blen)
{
    out[0] = type;
    out[1] = code;
    out[2] = out[3] = 0;
    out[4] = (uint8_t)(rest >> 24);
    out[5] = (uint8_t)(rest >> 16);
    out[6] = (uint8_t)(rest >> 8);
    out[7] = (uint8_t)rest;
    if (blen)
        memcpy(out + 8, body, blen);
    wr16(out + 2, fx6_l4_cksum(src, dst, 58, out, 8 + blen));
    return 8 + blen;
}

size_t fx6_udp(uint8_t *out, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
               uint16_t dport, const void *data, size_t len)
{
    wr16(out, sport);
    wr16(out + 2, dport);
    wr16(out + 4, (uint16_t)(8 + len));
    wr16(out + 6, 0);
    if (len)
        memcpy(out + 8, data, len);
    uint16_t c = fx6_l4_cksum(src, dst, 17, out, 8 + len);
    wr16(out + 6, c ? c : 0xffff);
    return 8 + len;
}

void fx6_inject_echo(struct fx *f, const uint8_t *dst, uint16_t id, uint16_t seq,
                     const void *data, size_t len)
{
    static uint8_t m[70000], fr[70100];
    const uint8_t *d = dst ? dst : fx6_l_ip;
    size_t n = fx6_icmp(m, fx6_r_ip, d, 128, 0, (uint32_t)id << 16 | seq, data, len);
    struct fx6_ip ip = {.dst = d, .nh = 58, .plen = -1};
    fx_inject(f, 0, fr, fx6_frame(f, fr, &ip, m, n));
}

bool fx6_parse(const uint8_t *fr, size_t len, struct fx6_pkt *p)
{
    memset(p, 0, sizeof *p);
    if (len < 14 + 40 || rd16(fr + 12) != 0x86dd)
        return false;
    memcpy(p->eth_dst, fr, 6);
    const uint8_t *h = fr + 14;
    if ((h[0] >> 4) != 6)
        return false;
    p->plen = rd16(h + 4);
    if (40u + p->plen > len - 14)
        return false;
    p->is_ip6 = true;
    p->tclass = (uint8_t)(h[0] << 4 | h[1] >> 4);
    p->nh = h[6];
    p->hlim = h[7];
    memcpy(p->src, h + 8, 16);
    memcpy(p->dst, h + 24, 16);
    size_t off = 40, end = 40u + p->plen;
    uint8_t nh = h[6];
    for (int i = 0; i < 8; i++) {
        if (nh == 0 && off + 8 <= end) {
            p->has_hbh = true;
            nh = h[off];
            off += (size_t)(h[off + 1] + 1) * 8;
        } else if (nh == 44 && off + 8 <= end) {
            p->has_frag = true;
            p->frag_off = rd16(h + off + 2) & 0xfff8;
            p->frag_mf = h[off + 3] & 1;
            p->frag_id = (uint32_t)rd16(h + off + 4) << 16 | rd16(h + off + 6);
            nh = h[off];
            off += 8;
        } else {
            break;
        }
    }
    if (off > end)
        return false;
    p->proto = nh;
    p->l4 = h + off;
    p->l4_len = end - off;
    if (nh == 58 && p->l4_len >= 8 && p->frag_off == 0) {
        p->is_icmp6 = true;
        p->icmp_type = p->l4[0];
        p->icmp_code = p->l4[1];
        p->icmp_rest = (uint32_t)rd16(p->l4 + 4) << 16 | rd16(p->l4 + 6);
    }
    return true;
}

struct fx6_pkt fx6_tx_pkt(const struct fx *f, unsigned i)
{
    struct fx6_pkt p;
    const struct fx_frame *fr = fx_tx(f, i);
    ck_assert_msg(fx6_parse(fr->data, fr->len, &p), "frame #%u is not IPv6", i);
    return p;
}

int fx6_find_icmp(const struct fx *f, unsigned from, uint8_t type)
{
    for (unsigned i = from; i < fx_ntx(f); i++) {
        struct fx6_pkt p;
        const struct fx_frame *fr = fx_tx(f, i);
        if (fx6_parse(fr->data, fr->len, &p) && p.is_icmp6 && p.icmp_type == type)
            return (int)i;
    }
    return -1;
}

const char *fx6_check_frame(const uint8_t *fr, size_t len, char *why, size_t whylen)
{
#define BAD(...) do { snprintf(why, whylen, __VA_ARGS__); return why; } while (0)
    struct fx6_pkt p;
    if (!fx6_parse(fr, len, &p))
        BAD("IPv6 frame malformed (version or payload length), %zu bytes", len);
    if (p.hlim == 0)
        BAD("IPv6 hop limit 0");
    if (p.src[0] == 0xff)
        BAD("IPv6 source is multicast");
    if (p.dst[0] == 0xff && memcmp(p.eth_dst + 2, p.dst + 12, 4) != 0)
        BAD("multicast MAC does not map the IPv6 group");
    bool whole = !p.has_frag;
    if (whole && p.proto == 58 && fx6_l4_cksum(p.src, p.dst, 58, p.l4, p.l4_len) != 0)
        BAD("ICMPv6 checksum wrong (type %u)", p.l4_len ? p.l4[0] : 0);
    if (whole && p.proto == 17) {
        if (p.l4_len < 8 || rd16(p.l4 + 4) != p.l4_len)
            BAD("UDP length wrong");
        if (rd16(p.l4 + 6) == 0 || fx6_l4_cksum(p.src, p.dst, 17, p.l4, p.l4_len) != 0)
            BAD("UDP/IPv6 checksum missing or wrong");
    }
    if (whole && p.proto == 6 && fx6_l4_cksum(p.src, p.dst, 6, p.l4, p.l4_len) != 0)
        BAD("TCP/IPv6 checksum wrong");
    if (p.has_frag && p.frag_mf && ((p.l4_len & 7) != 0))
        BAD("non-last IPv6 fragment not a multiple of 8 bytes");
    return NULL;
#undef BAD
}
