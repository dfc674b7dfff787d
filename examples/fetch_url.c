/* SPDX-License-Identifier: MIT */
/*
 * moat-fetch's URL parser and address order (see fetch_url.h).
 */
#include "examples/fetch_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_link_local(const uint8_t a[16])
{
    return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static int is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_';
}

/* RFC 6874 2: ZoneID = 1*( unreserved / pct-encoded ); only unreserved
 * characters here (a zone is an interface number or name). */
static int is_zone_char(char ch)
{
    return is_name_char(ch) || ch == '~';
}

static int bad(const char **why, const char *text)
{
    *why = text;
    return -1;
}

/* The bracketed part at @p p ('[' already seen). Returns the character
 * after ']' or NULL. */
static const char *parse_ip6_literal(const char *p, struct fetch_url *out, const char **why)
{
    const char *close = strchr(p, ']');
    if (!close) {
        bad(why, "IPv6 address without its closing ']'");
        return NULL;
    }
    size_t len = (size_t)(close - p);
    const char *pct = memchr(p, '%', len);
    size_t alen = pct ? (size_t)(pct - p) : len;
    if (alen == 0 || alen >= 46) {
        bad(why, "bad IPv6 address in brackets");
        return NULL;
    }
    memcpy(out->host, p, alen);
    out->host[alen] = 0;
    if (moat_ip6_parse(out->host, out->ip6) != 0) {
        bad(why, "bad IPv6 address in brackets");
        return NULL;
    }
    if (pct) {
        /* "%25" is the URI form (RFC 6874); a bare '%' is what people
         * type (and what ping and curl accept). */
        const char *z = pct + 1;
        if (close - z >= 2 && z[0] == '2' && z[1] == '5')
            z += 2;
        size_t zl = (size_t)(close - z);
        if (zl == 0 || zl >= sizeof(out->zone)) {
            bad(why, "empty or too long IPv6 zone after '%'");
            return NULL;
        }
        for (size_t i = 0; i < zl; i++)
            if (!is_zone_char(z[i])) {
                bad(why, "bad character in the IPv6 zone");
                return NULL;
            }
        if (!is_link_local(out->ip6)) {
            bad(why, "a zone ('%') belongs only to a link-local address (fe80::/10)");
            return NULL;
        }
        memcpy(out->zone, z, zl);
        out->zone[zl] = 0;
    }
    out->is_ip6 = 1;
    return close + 1;
}

int fetch_url_parse(const char *text, struct fetch_url *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(text, "https://", 8) == 0)
        return bad(why, "https is not supported (http only)");
    if (strncmp(text, "http://", 7) != 0)
        return bad(why, "URL must be http://HOST[:PORT]/PATH");
    const char *p = text + 7;
    if (*p == '[') {
        p = parse_ip6_literal(p + 1, out, why);
        if (!p)
            return -1;
    } else {
        size_t hl = strcspn(p, ":/?#");
        if (hl == 0)
            return bad(why, "URL without a host");
        if (hl >= sizeof(out->host))
            return bad(why, "host name longer than 255 bytes");
        for (size_t i = 0; i < hl; i++)
            if (!is_name_char(p[i]))
                return bad(why, p[i] == '@' ? "user information in URLs is not supported"
                                            : "bad character in the host name");
        memcpy(out->host, p, hl);
        out->host[hl] = 0;
        p += hl;
    }
    out->port = 80;
    if (*p == ':') {
        unsigned long v = 0;
        size_t nd = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
            v = v * 10 + (unsigned long)(*p - '0');
            if (v > 65535)
                return bad(why, "port must be 1..65535");
        }
        if (nd == 0 || v == 0)
            return bad(why, "port must be 1..65535");
        out->port = (uint16_t)v;
    }
    if (*p != 0 && *p != '/' && *p != '?' && *p != '#')
        return bad(why, "unexpected character after the host");
    size_t pl = strcspn(p, "#");    /* the fragment is not sent */
    if (pl + 2 > sizeof(out->path))
        return bad(why, "path longer than 2 KiB");
    if (memchr(p, ' ', pl) || memchr(p, '\r', pl) || memchr(p, '\n', pl) || memchr(p, '\t', pl))
        return bad(why, "spaces or line breaks in the path (percent-encode them)");
    size_t o = 0;
    if (*p != '/')
        out->path[o++] = '/';       /* "http://h" and "http://h?q" */
    memcpy(out->path + o, p, pl);
    out->path[o + pl] = 0;
    /* Host header (RFC 9110 7.2): the literal in brackets, never the zone
     * (it means something on this host only). */
    const char *fmt = out->is_ip6 ? "[%s]" : "%s";
    int n = snprintf(out->host_hdr, sizeof(out->host_hdr), fmt, out->host);
    if (out->port != 80 && n > 0 && (size_t)n < sizeof(out->host_hdr))
        snprintf(out->host_hdr + n, sizeof(out->host_hdr) - (size_t)n, ":%u", out->port);
    return 0;
}

int fetch_zone_scope(const char *zone, const char *dev0, unsigned n_ifs, uint32_t *scope)
{
    if (zone[0] >= '0' && zone[0] <= '9') {
        char *end;
        unsigned long v = strtoul(zone, &end, 10);
        if (*end != 0 || v < 1 || v > n_ifs)
            return -1;
        *scope = (uint32_t)v;
        return 0;
    }
    if (dev0 && strcmp(zone, dev0) == 0) {
        *scope = 1;
        return 0;
    }
    return -1;
}

int fetch_have_global6(const struct moat_ip6_info *in)
{
    for (unsigned k = 0; k < MOAT_IP6_ADDRS; k++)
        if ((in->state[k] == MOAT_IP6_PREFERRED || in->state[k] == MOAT_IP6_DEPRECATED) &&
            !is_link_local(in->addr[k]))
            return 1;
    return 0;
}

int fetch_tentative_global6(const struct moat_ip6_info *in)
{
    for (unsigned k = 0; k < MOAT_IP6_ADDRS; k++)
        if (in->state[k] == MOAT_IP6_TENTATIVE && !is_link_local(in->addr[k]))
            return 1;
    return 0;
}

static unsigned add_family(const struct moat_dns_answer *ans, int v6, uint16_t port,
                           struct moat_addr *out, unsigned n, unsigned max)
{
    if (!ans)
        return n;
    for (unsigned i = 0; i < ans->n && i < MOAT_DNS_MAX_ADDRS && n < max; i++) {
        struct moat_addr *a = &out[n++];
        memset(a, 0, sizeof(*a));
        a->port = port;
        if (v6) {
            a->family = MOAT_AF_INET6;
            memcpy(a->ip6, ans->ip6[i], 16);
        } else {
            a->ip = ans->ip4[i];
        }
    }
    return n;
}

unsigned fetch_order(const struct moat_dns_answer *aaaa, const struct moat_dns_answer *a,
                     int prefer6, enum fetch_family fam, uint16_t port,
                     struct moat_addr *out, unsigned max)
{
    if (fam == FETCH_IP4_ONLY)
        aaaa = NULL;
    if (fam == FETCH_IP6_ONLY)
        a = NULL;
    unsigned n = 0;
    if (prefer6) {
        n = add_family(aaaa, 1, port, out, n, max);
        n = add_family(a, 0, port, out, n, max);
    } else {
        n = add_family(a, 0, port, out, n, max);
        n = add_family(aaaa, 1, port, out, n, max);
    }
    return n;
}
