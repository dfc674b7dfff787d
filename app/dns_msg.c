/* SPDX-License-Identifier: MIT */
/*
 * DNS message building and parsing for the stub resolver; see dns_msg.h
 * for what a reply must satisfy to be believed. Every read is preceded by
 * a bounds check against the message length.
 */
#include "app/dns_msg.h"

#include <string.h>

#include "moat/err.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)((uint16_t)p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint8_t lower(uint8_t ch) { return ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch; }

int dns_name_encode(const char *text, uint8_t out[DNS_NAME_MAX], size_t *len)
{
    size_t o = 0;
    const char *p = text;
    if (!text || !*text)
        return MOAT_E_INVAL;
    if (strcmp(text, ".") == 0) {       /* the root */
        out[0] = 0;
        *len = 1;
        return 0;
    }
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n > 63 || o + 1 + n + 1 > DNS_NAME_MAX)
            return MOAT_E_INVAL;
        out[o++] = (uint8_t)n;
        for (size_t i = 0; i < n; i++) {
            uint8_t ch = (uint8_t)p[i];
            if (ch <= ' ' || ch >= 0x7f)
                return MOAT_E_INVAL;    /* host names only: no controls, spaces */
            out[o++] = lower(ch);
        }
        if (!dot)
            break;
        p = dot + 1;                    /* a trailing dot ends the loop */
    }
    out[o++] = 0;
    *len = o;
    return 0;
}

int dns_query_build(uint16_t id, const uint8_t *qname, size_t qlen, uint16_t qtype,
                    uint8_t *out, size_t cap, size_t *len)
{
    if (qlen < 1 || qlen > DNS_NAME_MAX || cap < DNS_HDR + qlen + 4u)
        return MOAT_E_INVAL;
    memset(out, 0, DNS_HDR);
    put16(out, id);
    out[2] = 0x01;                      /* RD: recursion desired */
    put16(out + 4, 1);                  /* QDCOUNT */
    memcpy(out + DNS_HDR, qname, qlen);
    put16(out + DNS_HDR + qlen, qtype);
    put16(out + DNS_HDR + qlen + 2, DNS_CLASS_IN);
    *len = DNS_HDR + qlen + 4u;
    return 0;
}

int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t out[DNS_NAME_MAX],
                  size_t *outlen)
{
    size_t pos = *off, o = 0, after = 0;
    unsigned jumps = 0;
    for (;;) {
        if (pos >= len)
            return MOAT_E_INVAL;
        uint8_t l = msg[pos];
        if ((l & 0xc0u) == 0xc0u) {
            if (pos + 1 >= len)
                return MOAT_E_INVAL;
            size_t target = (size_t)(l & 0x3fu) << 8 | msg[pos + 1];
            /* Only backwards, and not forever: a pointer to itself or
             * ahead could make a loop; a chain of backward pointers ends
             * at the start of the message, and DNS_MAX_JUMPS bounds it
             * further. */
            if (target >= pos || ++jumps > DNS_MAX_JUMPS)
                return MOAT_E_INVAL;
            if (!after)
                after = pos + 2;
            pos = target;
            continue;
        }
        if (l & 0xc0u)
            return MOAT_E_INVAL;        /* 01 and 10: reserved label types */
        if (o + 1u + l > DNS_NAME_MAX || pos + 1u + l > len)
            return MOAT_E_INVAL;
        out[o++] = l;
        if (l == 0)
            break;
        for (size_t i = 0; i < l; i++)
            out[o++] = lower(msg[pos + 1 + i]);
        pos += 1u + l;
    }
    *off = after ? after : pos + 1;
    *outlen = o;
    return 0;
}

static bool name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* The authority section of a negative answer (RFC 2308): the first SOA
 * of class IN gives how long "no address" may be cached. Its structure is
 * checked like the answers'; an owner name is not compared (the SOA is
 * the zone's, an ancestor of the question name). */
/* One resource record's owner name and fixed fields at *off; on success
 * *off is past the whole record and *rd is where its RDATA starts (RDATA
 * ends at *off). The TTL comes back with RFC 2181 section 8 applied (a set
 * top bit means 0). An RDLENGTH past the message rejects it. */
struct dns_rr {
    uint16_t type, cls;
    uint32_t ttl;
    size_t rd;
};

static int rr_read(const uint8_t *msg, size_t len, size_t *off, uint8_t name[DNS_NAME_MAX],
                   size_t *nlen, struct dns_rr *rr)
{
    if (dns_name_read(msg, len, off, name, nlen) != 0 || *off + 10u > len)
        return MOAT_E_INVAL;
    rr->type = get16(msg + *off);
    rr->cls = get16(msg + *off + 2);
    rr->ttl = get32(msg + *off + 4);
    size_t rdlen = get16(msg + *off + 8);
    *off += 10;
    if (rdlen > len - *off)
        return MOAT_E_INVAL;
    if (rr->ttl > 0x7fffffffu)
        rr->ttl = 0;
    rr->rd = *off;
    *off += rdlen;
    return 0;
}

static int soa_walk(const uint8_t *msg, size_t len, size_t off, uint16_t ns,
                    struct dns_reply *out)
{
    uint8_t name[DNS_NAME_MAX];
    size_t nlen;
    for (unsigned i = 0; i < ns; i++) {
        struct dns_rr rr;
        if (rr_read(msg, len, &off, name, &nlen, &rr) != 0)
            return MOAT_E_INVAL;
        uint16_t type = rr.type, cls = rr.cls;
        uint32_t rttl = rr.ttl;
        size_t rd = rr.rd, end = off;
        if (type != DNS_TYPE_SOA || cls != DNS_CLASS_IN)
            continue;
        /* MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM */
        if (dns_name_read(msg, end, &rd, name, &nlen) != 0 ||
            dns_name_read(msg, end, &rd, name, &nlen) != 0 || rd + 20u != end)
            return MOAT_E_INVAL;
        uint32_t min = get32(msg + rd + 16);
        out->neg_ttl = rttl < min ? rttl : min;
        return 0;
    }
    return 0;
}

int dns_reply_parse(const uint8_t *msg, size_t len, uint16_t id, const uint8_t *qname,
                    size_t qlen, uint16_t qtype, struct dns_reply *out)
{
    uint8_t name[DNS_NAME_MAX], want[DNS_NAME_MAX];
    size_t nlen, wlen, off;

    memset(out, 0, sizeof(*out));
    if (!msg || len < DNS_HDR || get16(msg) != id)
        return MOAT_E_INVAL;
    if (!(msg[2] & 0x80u) || (msg[2] & 0x78u) != 0)
        return MOAT_E_INVAL;            /* not a response, or not a QUERY */
    out->tc = (msg[2] & 0x02u) != 0;
    out->rcode = msg[3] & 0x0fu;
    uint16_t qd = get16(msg + 4), an = get16(msg + 6);
    if (qd != 1)
        return MOAT_E_INVAL;            /* must echo our one question */
    off = DNS_HDR;
    if (dns_name_read(msg, len, &off, name, &nlen) != 0 || off + 4u > len)
        return MOAT_E_INVAL;
    if (!name_eq(name, nlen, qname, qlen) || get16(msg + off) != qtype ||
        get16(msg + off + 2) != DNS_CLASS_IN)
        return MOAT_E_INVAL;
    off += 4;
    if (out->tc)
        return 0;                       /* the rest may be cut anywhere */

    /* The answer section, in order: follow the CNAME chain from the
     * question name, collect addresses of the name at its end. A record
     * that does not concern the chain is skipped; one that breaks the
     * message's structure rejects it. */
    memcpy(want, qname, qlen);
    wlen = qlen;
    uint32_t ttl = UINT32_MAX;
    unsigned cnames = 0;
    size_t alen = qtype == DNS_TYPE_A ? 4u : 16u;
    for (unsigned i = 0; i < an; i++) {
        struct dns_rr rr;
        if (rr_read(msg, len, &off, name, &nlen, &rr) != 0)
            return MOAT_E_INVAL;        /* a name or RDLENGTH that lies */
        uint16_t type = rr.type, cls = rr.cls;
        uint32_t rttl = rr.ttl;
        size_t rd = rr.rd, rdlen = off - rr.rd;
        if (cls != DNS_CLASS_IN || !name_eq(name, nlen, want, wlen))
            continue;
        if (type == DNS_TYPE_CNAME) {
            size_t roff = rd;
            if (++cnames > DNS_MAX_CNAMES)
                return MOAT_E_INVAL;
            if (dns_name_read(msg, rd + rdlen, &roff, want, &wlen) != 0 || roff != rd + rdlen)
                return MOAT_E_INVAL;
            if (rttl < ttl)
                ttl = rttl;
            continue;
        }
        if (type != qtype)
            continue;
        if (rdlen != alen)
            return MOAT_E_INVAL;
        if (out->n < DNS_MAX_ADDRS) {
            memcpy(out->addr[out->n], msg + rd, alen);
            out->n++;
            if (rttl < ttl)
                ttl = rttl;
        }
    }
    out->ttl = out->n ? ttl : 0;
    if (out->n == 0 && (out->rcode == DNS_RCODE_OK || out->rcode == DNS_RCODE_NXDOMAIN))
        return soa_walk(msg, len, off, get16(msg + 8), out);
    return 0;
}
