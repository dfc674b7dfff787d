/* SPDX-License-Identifier: MIT */
/*
 * Configuration defaults and checks, and the small text helpers of the
 * public API (IPv4 and MAC parsing). Freestanding: no libc beyond string.h.
 */
#include <string.h>

#include "moat/moat.h"

void moat_config_defaults(struct moat_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->n_ifs = 1;
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++) {
        cfg->ifs[i].prefix = 24;
        cfg->ifs[i].mtu = 1500;
    }
    cfg->max_sockets = 64;
    cfg->sock_rx_bytes = 256u * 1024;
    cfg->sock_tx_bytes = 256u * 1024;
    cfg->pkt_bufs = 256;
    cfg->arp_entries = 32;
    cfg->arp_queue = 16;  /* frames: a 16 KiB datagram in fragments */
    cfg->arp_timeout_ms = 300000;
    cfg->reass_slots = 8;
    cfg->reass_timeout_ms = 30000;
    cfg->icmp_err_per_s = 100;
    cfg->ip_ttl = 64;
    cfg->tcp_rto_init_ms = 1000;
    cfg->tcp_rto_min_ms = 200;
    cfg->tcp_rto_max_ms = 60000;
    cfg->tcp_max_retries = 12;
    cfg->tcp_syn_retries = 6;
    cfg->tcp_msl_ms = 30000;
    cfg->tcp_delack_ms = 40;
    cfg->tcp_keepidle_ms = 7200000;
    cfg->tcp_keepintvl_ms = 75000;
    cfg->tcp_keepcnt = 9;
    cfg->tcp_syn_backlog = 64;
    cfg->tcp_ooo_bytes = 4u * 1024 * 1024;
    cfg->tcp_cong = MOAT_TCP_CONG_CUBIC;
    cfg->tcp_ecn = 2;
    cfg->spin_us = 50;
    cfg->tcp_mem_bytes = 128ull << 20;
    cfg->tcp_pmtu_probe_ms = 600000;
    cfg->net_stall_ms = 5000;
    cfg->ip_max_datagram = 65535;
    cfg->ip6_dad_transmits = 1;
}

static int pow2(uint32_t v) { return v >= 2 && (v & (v - 1)) == 0; }

static int why_(char *why, size_t len, const char *msg, int err)
{
    if (why && len) {
        size_t n = strlen(msg);
        if (n >= len)
            n = len - 1;
        memcpy(why, msg, n);
        why[n] = 0;
    }
    return err;
}

int moat_config_check(const struct moat_config *cfg, char *why, size_t whylen)
{
    if (!cfg)
        return why_(why, whylen, "no configuration given", MOAT_E_INVAL);
    if (cfg->n_ifs < 1 || cfg->n_ifs > MOAT_MAX_IFS)
        return why_(why, whylen, "n_ifs must be 1..MOAT_MAX_IFS", MOAT_E_RANGE);
    for (unsigned i = 0; i < cfg->n_ifs; i++) {
        const struct moat_if_config *ifc = &cfg->ifs[i];
        if (ifc->ip6_only > 1)
            return why_(why, whylen, "ip6_only must be 0 or 1", MOAT_E_RANGE);
        if (ifc->ip6_only && (ifc->ip != 0 || ifc->dhcp))
            return why_(why, whylen, "an IPv6-only interface has no IPv4 address and no DHCP", MOAT_E_INVAL);
        if (ifc->ip6_only && ifc->no_ip6)
            return why_(why, whylen, "an IPv6-only interface needs IPv6 (no_ip6 is set)", MOAT_E_INVAL);
#if defined(MOAT_CORE_IP6) && !MOAT_CORE_IP6
        if (ifc->ip6_only)
            return why_(why, whylen, "this core is built without IPv6 (MOAT_CORE_IP6=0)", MOAT_E_NOTSUP);
#endif
        if (ifc->ip == 0 && !ifc->dhcp && !ifc->ip6_only)
            return why_(why, whylen, "interface has no IPv4 address (set --ip ADDR/PREFIX or --dhcp)", MOAT_E_INVAL);
        if (ifc->dhcp > 1)
            return why_(why, whylen, "dhcp must be 0 or 1", MOAT_E_RANGE);
#if defined(MOAT_CORE_DHCP) && !MOAT_CORE_DHCP
        /* core/dhcp_none.c: the client is not built in. */
        if (ifc->dhcp)
            return why_(why, whylen, "this core is built without DHCP (MOAT_CORE_DHCP=0)", MOAT_E_NOTSUP);
#endif
        if (ifc->prefix < 1 || ifc->prefix > 32)
            return why_(why, whylen, "prefix length must be 1..32", MOAT_E_RANGE);
        if (ifc->mtu < 576 || ifc->mtu > 9000)
            return why_(why, whylen, "MTU must be 576..9000", MOAT_E_RANGE);
        if ((ifc->link == MOAT_LINK_TAP || ifc->link == MOAT_LINK_WIRE) && ifc->dev[0] == 0)
            return why_(why, whylen, "TAP or wire link without a device name", MOAT_E_INVAL);
        if (ifc->link == MOAT_LINK_CUSTOM && !ifc->custom)
            return why_(why, whylen, "custom link kind without a link object", MOAT_E_INVAL);
        if (ifc->impair.loss_ppm > 1000000 || ifc->impair.dup_ppm > 1000000 ||
            ifc->impair.reorder_ppm > 1000000 || ifc->impair.corrupt_ppm > 1000000)
            return why_(why, whylen, "impairment probabilities are parts per million (<= 1000000)", MOAT_E_RANGE);
        for (unsigned k = 0; k < MOAT_IP6_STATIC_MAX; k++) {
            static const uint8_t z6[16];
            if (memcmp(ifc->ip6[k], z6, 16) == 0)
                continue;
            if (ifc->ip6_prefix[k] < 1 || ifc->ip6_prefix[k] > 128)
                return why_(why, whylen, "IPv6 prefix length must be 1..128", MOAT_E_RANGE);
            if (ifc->ip6[k][0] == 0xff)
                return why_(why, whylen, "a static IPv6 address must be unicast", MOAT_E_INVAL);
#if defined(MOAT_CORE_IP6) && !MOAT_CORE_IP6
            /* core/ip6_none.c: no IPv6 layer is built in. */
            return why_(why, whylen, "this core is built without IPv6 (MOAT_CORE_IP6=0)", MOAT_E_NOTSUP);
#endif
        }
    }
    /* 65536: a socket handle carries the slot index in 16 bits
     * (core/boundary.h moat_handle_make). */
    if (cfg->max_sockets < 1 || cfg->max_sockets > MOAT_MAX_SOCKETS)
        return why_(why, whylen, "max_sockets must be 1..65536", MOAT_E_RANGE);
    if (!pow2(cfg->sock_rx_bytes) || !pow2(cfg->sock_tx_bytes) ||
        cfg->sock_rx_bytes < 4096 || cfg->sock_tx_bytes < 4096 ||
        cfg->sock_rx_bytes > (64u << 20) || cfg->sock_tx_bytes > (64u << 20))
        return why_(why, whylen, "socket ring sizes must be powers of two from 4 KiB to 64 MiB", MOAT_E_RANGE);
    if (cfg->pkt_bufs < 8 || cfg->pkt_bufs > 65536)
        return why_(why, whylen, "pkt_bufs must be 8..65536", MOAT_E_RANGE);
    if (cfg->arp_entries < 1 || cfg->arp_entries > 4096)
        return why_(why, whylen, "arp_entries must be 1..4096", MOAT_E_RANGE);
    if (cfg->arp_queue < 1 || cfg->arp_queue > 64)
        return why_(why, whylen, "arp_queue must be 1..64", MOAT_E_RANGE);
    if (cfg->reass_slots < 1 || cfg->reass_slots > 256)
        return why_(why, whylen, "reass_slots must be 1..256", MOAT_E_RANGE);
    if (cfg->ip_ttl == 0)
        return why_(why, whylen, "ip_ttl must not be 0", MOAT_E_RANGE);
    if (cfg->tcp_rto_min_ms == 0 || cfg->tcp_rto_min_ms > cfg->tcp_rto_max_ms ||
        cfg->tcp_rto_init_ms < cfg->tcp_rto_min_ms)
        return why_(why, whylen, "TCP RTO limits must satisfy 0 < min <= init and min <= max", MOAT_E_RANGE);
    if (cfg->tcp_cong > MOAT_TCP_CONG_CUBIC)
        return why_(why, whylen, "tcp_cong must be MOAT_TCP_CONG_NEWRENO (0) or MOAT_TCP_CONG_CUBIC (1)", MOAT_E_RANGE);
    if (cfg->tcp_ecn > 2)
        return why_(why, whylen, "tcp_ecn must be 0 (off), 1 (on) or 2 (accept when asked)", MOAT_E_RANGE);
    if (cfg->tcp_mem_bytes < 64u * 1024)
        return why_(why, whylen, "tcp_mem_bytes must be at least 64 KiB", MOAT_E_RANGE);
    if (cfg->net_stall_ms != 0 && cfg->net_stall_ms < 2000)
        return why_(why, whylen, "net_stall_ms must be 0 (off) or at least 2000", MOAT_E_RANGE);
    if (cfg->ip_max_datagram != 0) {
        /* The datagram buffer also holds a frame waiting for ARP. */
        if (cfg->ip_max_datagram < 576 || cfg->ip_max_datagram > 65535)
            return why_(why, whylen, "ip_max_datagram must be 0 (65535) or 576..65535", MOAT_E_RANGE);
        for (unsigned i = 0; i < cfg->n_ifs; i++)
            if (cfg->ifs[i].mtu > cfg->ip_max_datagram)
                return why_(why, whylen, "ip_max_datagram must be at least every interface's MTU", MOAT_E_RANGE);
    }
    return 0;
}

/* One part of an inet_aton address: decimal, 0octal or 0xhex. */
static int parse_part(const char **pp, uint32_t *out)
{
    const char *p = *pp;
    uint32_t base = 10, v = 0;
    int digits = 0;

    if (*p == '0') {
        base = 8;
        p++;
        digits = 1;
        if (*p == 'x' || *p == 'X') {
            base = 16;
            p++;
            digits = 0;
        }
    }
    for (;; p++) {
        uint32_t d;
        char ch = *p;
        if (ch >= '0' && ch <= '9')
            d = (uint32_t)(ch - '0');
        else if (base == 16 && ch >= 'a' && ch <= 'f')
            d = (uint32_t)(ch - 'a' + 10);
        else if (base == 16 && ch >= 'A' && ch <= 'F')
            d = (uint32_t)(ch - 'A' + 10);
        else
            break;
        if (d >= base)
            return MOAT_E_INVAL;
        if (v > (0xffffffffu - d) / base)
            return MOAT_E_INVAL;
        v = v * base + d;
        digits++;
    }
    if (digits == 0)
        return MOAT_E_INVAL;
    *pp = p;
    *out = v;
    return 0;
}

int moat_ip4_parse(const char *text, uint32_t *out)
{
    uint32_t parts[4];
    int n = 0;
    const char *p = text;

    if (!text || !out)
        return MOAT_E_INVAL;
    for (;;) {
        if (n == 4 || parse_part(&p, &parts[n]) != 0)
            return MOAT_E_INVAL;
        n++;
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p != 0)
            return MOAT_E_INVAL;
        break;
    }
    uint32_t v;
    switch (n) {
    case 1:
        v = parts[0];
        break;
    case 2:
        if (parts[0] > 255 || parts[1] > 0xffffff)
            return MOAT_E_INVAL;
        v = parts[0] << 24 | parts[1];
        break;
    case 3:
        if (parts[0] > 255 || parts[1] > 255 || parts[2] > 0xffff)
            return MOAT_E_INVAL;
        v = parts[0] << 24 | parts[1] << 16 | parts[2];
        break;
    default:
        for (int i = 0; i < 4; i++)
            if (parts[i] > 255)
                return MOAT_E_INVAL;
        v = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3];
        break;
    }
    *out = v;
    return 0;
}

/* Four decimal parts 0..255 (the IPv4 tail of an IPv6 address). */
static int ip4_dotted_strict(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned part = 0, digits = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            part = part * 10 + (unsigned)(*p - '0');
            if (++digits > 3 || part > 255)
                return MOAT_E_INVAL;
        }
        if (digits == 0 || (i < 3 && *p != '.') || (i == 3 && *p != 0))
            return MOAT_E_INVAL;
        if (i < 3)
            p++;
        v = v << 8 | part;
    }
    *out = v;
    return 0;
}

/* "ADDR[/LEN]" of either family: the address part is copied to @p buf
 * (cap bytes) for the caller's parser; a /LEN (1..@p max) is stored in
 * @p prefix, which stays untouched without one. */
static int cidr_split(const char *text, char *buf, size_t cap, unsigned max, uint8_t *prefix)
{
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    if (n >= cap)
        return MOAT_E_INVAL;
    memcpy(buf, text, n);
    buf[n] = 0;
    if (!slash)
        return 0;
    const char *p = slash + 1;
    unsigned v = 0;
    if (*p == 0)
        return MOAT_E_INVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return MOAT_E_INVAL;
        v = v * 10 + (unsigned)(*p - '0');
        if (v > max)
            return MOAT_E_INVAL;
    }
    if (v == 0)
        return MOAT_E_INVAL;
    *prefix = (uint8_t)v;
    return 0;
}

int moat_ip4_parse_cidr(const char *text, uint32_t *ip, uint8_t *prefix)
{
    char buf[64];
    uint8_t len = 0;

    if (!text || !ip || !prefix || cidr_split(text, buf, sizeof buf, 32, &len) != 0 ||
        moat_ip4_parse(buf, ip) != 0)
        return MOAT_E_INVAL;
    if (len)
        *prefix = len;
    return 0;
}

char *moat_ip4_format(uint32_t ip, char *buf)
{
    char *p = buf;
    for (int i = 3; i >= 0; i--) {
        unsigned b = (ip >> (i * 8)) & 0xff;
        if (b >= 100)
            *p++ = (char)('0' + b / 100);
        if (b >= 10)
            *p++ = (char)('0' + (b / 10) % 10);
        *p++ = (char)('0' + b % 10);
        if (i)
            *p++ = '.';
    }
    *p = 0;
    return buf;
}

static int hexval(char ch);

/* RFC 4291 2.2 text forms. Groups go to @p g (up to 8) before and after
 * "::"; a dotted IPv4 tail counts as two groups. */
int moat_ip6_parse(const char *text, uint8_t out[16])
{
    uint16_t head[8], tail[8];
    unsigned nh = 0, nt = 0;
    int gap = 0;
    const char *p = text;

    if (!text || !out)
        return MOAT_E_INVAL;
    if (p[0] == ':' && p[1] == ':') {
        gap = 1;
        p += 2;
    } else if (p[0] == ':') {
        return MOAT_E_INVAL;
    }
    while (*p) {
        uint16_t *g = gap ? tail : head;
        unsigned *n = gap ? &nt : &nh;
        if (nh + nt >= 8)
            return MOAT_E_INVAL;
        /* A dotted IPv4 tail: the rest of the text. */
        const char *q = p;
        while (*q && *q != ':' && *q != '.')
            q++;
        if (*q == '.') {
            uint32_t v4;
            if (nh + nt > 6 || ip4_dotted_strict(p, &v4) != 0)
                return MOAT_E_INVAL;
            g[(*n)++] = (uint16_t)(v4 >> 16);
            g[(*n)++] = (uint16_t)v4;
            p += strlen(p);
            break;
        }
        unsigned v = 0, digits = 0;
        for (; *p && *p != ':'; p++) {
            int h = hexval(*p);
            if (h < 0 || ++digits > 4)
                return MOAT_E_INVAL;
            v = v << 4 | (unsigned)h;
        }
        if (digits == 0)
            return MOAT_E_INVAL;
        g[(*n)++] = (uint16_t)v;
        if (*p == ':') {
            p++;
            if (*p == ':') {
                if (gap)
                    return MOAT_E_INVAL;    /* a second "::" */
                gap = 1;
                p++;
            } else if (*p == 0) {
                return MOAT_E_INVAL;        /* trailing single ':' */
            }
        }
    }
    if ((!gap && nh != 8) || (gap && nh + nt > 7))
        return MOAT_E_INVAL;
    memset(out, 0, 16);
    for (unsigned i = 0; i < nh; i++) {
        out[2 * i] = (uint8_t)(head[i] >> 8);
        out[2 * i + 1] = (uint8_t)head[i];
    }
    for (unsigned i = 0; i < nt; i++) {
        unsigned k = 8 - nt + i;
        out[2 * k] = (uint8_t)(tail[i] >> 8);
        out[2 * k + 1] = (uint8_t)tail[i];
    }
    return 0;
}

int moat_ip6_parse_cidr(const char *text, uint8_t out[16], uint8_t *prefix)
{
    char buf[64];
    uint8_t len = 0;

    if (!text || !out || !prefix || cidr_split(text, buf, sizeof buf, 128, &len) != 0 ||
        moat_ip6_parse(buf, out) != 0)
        return MOAT_E_INVAL;
    if (len)
        *prefix = len;
    return 0;
}

char *moat_ip6_format(const uint8_t a[16], char *buf)
{
    static const char hex[] = "0123456789abcdef";
    unsigned best = 0, blen = 0;
    char *p = buf;

    /* RFC 5952 4.2: the longest run of two or more zero groups (the first
     * of equal ones) becomes "::". */
    for (unsigned i = 0; i < 8;) {
        unsigned j = i;
        while (j < 8 && a[2 * j] == 0 && a[2 * j + 1] == 0)
            j++;
        if (j - i > blen && j - i >= 2) {
            best = i;
            blen = j - i;
        }
        i = j > i ? j : i + 1;
    }
    for (unsigned i = 0; i < 8; i++) {
        if (blen && i == best) {
            *p++ = ':';
            if (i == 0)
                *p++ = ':';
            i += blen - 1;
            continue;
        }
        unsigned v = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        int started = 0;
        for (int s = 12; s >= 0; s -= 4) {
            unsigned d = (v >> s) & 0xf;
            if (d || started || s == 0) {
                *p++ = hex[d];
                started = 1;
            }
        }
        if (i < 7)
            *p++ = ':';
    }
    *p = 0;
    return buf;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int moat_mac_parse(const char *text, uint8_t mac[6])
{
    if (!text || !mac)
        return MOAT_E_INVAL;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(text[0]), lo = hexval(text[1]);
        if (hi < 0 || lo < 0)
            return MOAT_E_INVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
        text += 2;
        if (i < 5) {
            if (*text != ':' && *text != '-')
                return MOAT_E_INVAL;
            text++;
        }
    }
    return *text == 0 ? 0 : MOAT_E_INVAL;
}
