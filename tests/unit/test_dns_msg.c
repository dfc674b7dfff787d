/* SPDX-License-Identifier: MIT */
/*
 * DNS messages (app/dns_msg.c): names to wire form, the query
 * bytes, and replies parsed with distrust -- compression loops and forward
 * pointers, names past 255 bytes, counts and RDLENGTHs that lie, answers
 * to another question, CNAME chains, TTL rules, truncation, and every
 * truncation and byte change of a valid reply.
 *
 * Reference scenarios (/work/shared/reference-scenarios.md section 16):
 *   DNS-NAME-OK-1   dns_name_read_valid
 *   DNS-NAME-BAD-1  dns_name_read_malformed, dns_reply_compression_attacks
 *   DNS-B-RESP-1    dns_reply_not_ours (ID, QR/opcode, question); the rest in
 *                   tests/integration/test_dns_wire.c
 */
#include <stdio.h>
#include <string.h>

#include "support/check_main.h"
#include "support/seeds.h"
#include "app/dns_msg.h"
#include "moat/err.h"

/* ---- a small message writer -------------------------------------------- */

struct w {
    uint8_t b[2048];
    size_t n;
};

static void w8(struct w *w, unsigned v) { w->b[w->n++] = (uint8_t)v; }
static void w16(struct w *w, unsigned v) { w8(w, v >> 8); w8(w, v); }
static void w32(struct w *w, uint32_t v) { w16(w, v >> 16); w16(w, v & 0xffff); }
static void wbytes(struct w *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
/* "a.b.c" as uncompressed labels + root */
static void wname(struct w *w, const char *text)
{
    uint8_t enc[DNS_NAME_MAX];
    size_t len;
    ck_assert_int_eq(dns_name_encode(text, enc, &len), 0);
    wbytes(w, enc, len);
}

#define ID 0x4242u
static uint8_t qn[DNS_NAME_MAX];
static size_t qnl;

/* Header (response, RD RA) + the question for files.moat.test/type. */
static void reply_start(struct w *w, unsigned flags2, unsigned rcode, unsigned an, unsigned type)
{
    memset(w, 0, sizeof *w);
    w16(w, ID);
    w8(w, 0x81 | flags2);   /* QR, RD (| TC = 0x02) */
    w8(w, 0x80 | rcode);
    w16(w, 1);
    w16(w, an);
    w16(w, 0);
    w16(w, 0);
    wname(w, "files.moat.test");
    w16(w, type);
    w16(w, 1);
    ck_assert_int_eq(dns_name_encode("files.moat.test", qn, &qnl), 0);
}

/* An answer record owned by the question name (pointer to offset 12). */
static void rr_a(struct w *w, uint32_t ttl, uint32_t ip)
{
    w16(w, 0xc00c);
    w16(w, DNS_TYPE_A);
    w16(w, 1);
    w32(w, ttl);
    w16(w, 4);
    w32(w, ip);
}

static int parse(const struct w *w, unsigned type, struct dns_reply *r)
{
    return dns_reply_parse(w->b, w->n, ID, qn, qnl, (uint16_t)type, r);
}

/* ---- names ---------------------------------------------------------------- */

START_TEST(dns_name_encoding)
{
    uint8_t o[DNS_NAME_MAX];
    size_t n;
    ck_assert_int_eq(dns_name_encode("Files.Moat.TEST.", o, &n), 0);
    ck_assert_uint_eq(n, 17);
    ck_assert_mem_eq(o, "\x05" "files" "\x04" "moat" "\x04" "test" "\x00", 17);
    ck_assert_int_eq(dns_name_encode(".", o, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(dns_name_encode("", o, &n), MOAT_E_INVAL);
    ck_assert_int_eq(dns_name_encode(NULL, o, &n), MOAT_E_INVAL);
    ck_assert_int_eq(dns_name_encode("a..b", o, &n), MOAT_E_INVAL);
    ck_assert_int_eq(dns_name_encode(".a", o, &n), MOAT_E_INVAL);
    ck_assert_int_eq(dns_name_encode("a b", o, &n), MOAT_E_INVAL);
    char label[70];
    memset(label, 'x', 64);
    label[64] = 0;
    ck_assert_int_eq(dns_name_encode(label, o, &n), MOAT_E_INVAL);   /* 64-byte label */
    label[63] = 0;
    ck_assert_int_eq(dns_name_encode(label, o, &n), 0);
    /* 4 labels of 63 = 4 * 64 + 1 = 257 > 255 */
    char longname[300];
    snprintf(longname, sizeof longname, "%s.%s.%s.%s", label, label, label, label);
    ck_assert_int_eq(dns_name_encode(longname, o, &n), MOAT_E_INVAL);
    longname[strlen(longname) - 2] = 0;         /* 253 text bytes: 255 wire */
    ck_assert_int_eq(dns_name_encode(longname, o, &n), 0);
    ck_assert_uint_eq(n, 255);
}
END_TEST

START_TEST(dns_query_bytes)
{
    uint8_t q[600];
    size_t n;
    uint8_t name[DNS_NAME_MAX];
    size_t nl;
    ck_assert_int_eq(dns_name_encode("a.b", name, &nl), 0);
    ck_assert_int_eq(dns_query_build(0x1234, name, nl, DNS_TYPE_AAAA, q, sizeof q, &n), 0);
    static const uint8_t want[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                    1, 'a', 1, 'b', 0, 0, 28, 0, 1 };
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_mem_eq(q, want, sizeof want);
    ck_assert_int_eq(dns_query_build(1, name, nl, 1, q, 10, &n), MOAT_E_INVAL);
}
END_TEST

/* DNS-NAME-OK-1: names decode in full through pointers; label bytes are
 * opaque (only A-Z fold to lower case); the offset after the name is right
 * after the first pointer, or after the root label when there is none.
 * A pointer to a later offset is refused: moat follows pointers only
 * backwards (RFC 1035 4.1.4: "a prior occurrence"), see dns_msg.h. */
START_TEST(dns_name_read_valid)
{
    uint8_t name[DNS_NAME_MAX];
    size_t nl, off;
    struct w w;
    memset(&w, 0, sizeof w);
    w.n = 12;
    wname(&w, "multi.cast");                    /* 12..23 */
    off = 12;
    ck_assert_int_eq(dns_name_read(w.b, w.n, &off, name, &nl), 0);
    ck_assert_uint_eq(nl, 12);
    ck_assert_mem_eq(name, "\x05" "multi" "\x04" "cast" "\x00", 12);
    ck_assert_uint_eq(off, 24);
    /* a label of arbitrary bytes, then a pointer to multi.cast */
    static const uint8_t any[] = { 0x00, 0xff, 0xc0, 0x3f, 'A', '.' };
    size_t at_any = w.n;
    w8(&w, sizeof any); wbytes(&w, any, sizeof any); w16(&w, 0xc00c);
    off = at_any;
    ck_assert_int_eq(dns_name_read(w.b, w.n, &off, name, &nl), 0);
    ck_assert_uint_eq(nl, 7 + 12);
    ck_assert_mem_eq(name, "\x06\x00\xff\xc0\x3f" "a.", 7);
    ck_assert_mem_eq(name + 7, "\x05" "multi" "\x04" "cast" "\x00", 12);
    ck_assert_uint_eq(off, at_any + 7 + 2);
    /* a pointer to a name that itself ends in a pointer */
    size_t at_deep = w.n;
    w8(&w, 4); wbytes(&w, "deep", 4); w16(&w, 0xc000u | (unsigned)at_any);
    size_t at_ptr = w.n;
    w16(&w, 0xc000u | (unsigned)at_deep);
    off = at_ptr;
    ck_assert_int_eq(dns_name_read(w.b, w.n, &off, name, &nl), 0);
    ck_assert_uint_eq(nl, 5 + 7 + 12);
    ck_assert_mem_eq(name, "\x04" "deep" "\x06", 6);
    ck_assert_uint_eq(off, at_ptr + 2);
    /* a chain of 4 pointers: multi -> cast -> deep -> dns -> name */
    memset(&w, 0, sizeof w);
    w.n = 12;
    static const char *const lab[] = { "name", "dns", "deep", "cast", "multi" };
    size_t prev = 0;
    for (unsigned i = 0; i < 5; i++) {
        size_t start = w.n;
        w8(&w, (unsigned)strlen(lab[i]));
        wbytes(&w, lab[i], strlen(lab[i]));
        if (i == 0)
            w8(&w, 0);
        else
            w16(&w, 0xc000u | (unsigned)prev);
        prev = start;
    }
    off = prev;
    ck_assert_int_eq(dns_name_read(w.b, w.n, &off, name, &nl), 0);
    uint8_t want[DNS_NAME_MAX];
    size_t wl;
    ck_assert_int_eq(dns_name_encode("multi.cast.deep.dns.name", want, &wl), 0);
    ck_assert_uint_eq(nl, wl);
    ck_assert_mem_eq(name, want, wl);
    ck_assert_uint_eq(off, prev + 1 + 5 + 2);
    /* a pointer to a later offset (no loop): refused by design */
    memset(&w, 0, sizeof w);
    w.n = 12;
    w16(&w, 0xc000u | 14);
    wname(&w, "multi.cast");
    off = 12;
    ck_assert_int_eq(dns_name_read(w.b, w.n, &off, name, &nl), MOAT_E_INVAL);
}
END_TEST

/* DNS-NAME-BAD-1: each malformed name is a decode error in bounded time,
 * with nothing read past the given length (the bytes after it would make
 * a valid name, so an over-read shows as a success). */
START_TEST(dns_name_read_malformed)
{
    uint8_t name[DNS_NAME_MAX];
    size_t nl, off;
    /* cut by the end of the message: inside a label, before the root */
    static const uint8_t cut[] = { 5, 'm', 'u', 'l', 't', 'i', 0 };
    off = 0;
    ck_assert_int_eq(dns_name_read(cut, 4, &off, name, &nl), MOAT_E_INVAL);
    off = 0;
    ck_assert_int_eq(dns_name_read(cut, 6, &off, name, &nl), MOAT_E_INVAL);
    off = 0;
    ck_assert_int_eq(dns_name_read(cut, 7, &off, name, &nl), 0);
    /* a label of 64 bytes (its length byte is a reserved label type) */
    uint8_t lab[1 + 64 + 1];
    lab[0] = 64;
    memset(lab + 1, 'x', 64);
    lab[65] = 0;
    off = 0;
    ck_assert_int_eq(dns_name_read(lab, sizeof lab, &off, name, &nl), MOAT_E_INVAL);
    /* 257 bytes without any pointer: 4 labels of 63 and the root */
    uint8_t big[4 * 64 + 1];
    for (unsigned i = 0; i < 4; i++) {
        big[i * 64] = 63;
        memset(big + i * 64 + 1, 'y', 63);
    }
    big[256] = 0;
    off = 0;
    ck_assert_int_eq(dns_name_read(big, sizeof big, &off, name, &nl), MOAT_E_INVAL);
    off = 64;                                   /* the last three: 193 bytes, fine */
    ck_assert_int_eq(dns_name_read(big, sizeof big, &off, name, &nl), 0);
    ck_assert_uint_eq(nl, 193);
    /* a pointer missing its second byte (the byte after the end would
     * point back to "a") */
    static const uint8_t half[] = { 1, 'a', 0, 0xc0, 0x00 };
    off = 3;
    ck_assert_int_eq(dns_name_read(half, 4, &off, name, &nl), MOAT_E_INVAL);
    off = 3;
    ck_assert_int_eq(dns_name_read(half, 5, &off, name, &nl), 0);
    /* a pointer beyond the end of the message */
    uint8_t beyond[64];
    memset(beyond, 0, sizeof beyond);
    beyond[12] = 0xc0; beyond[13] = 40;
    beyond[40] = 1; beyond[41] = 'b'; beyond[42] = 0;
    off = 12;
    ck_assert_int_eq(dns_name_read(beyond, 14, &off, name, &nl), MOAT_E_INVAL);
    beyond[12] = 0xff; beyond[13] = 0xff;
    off = 12;
    ck_assert_int_eq(dns_name_read(beyond, sizeof beyond, &off, name, &nl), MOAT_E_INVAL);
    /* a pointer to its own label: "a" then a pointer back to that label */
    static const uint8_t self_label[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          1, 'a', 0xc0, 12 };
    off = 12;
    ck_assert_int_eq(dns_name_read(self_label, sizeof self_label, &off, name, &nl),
                     MOAT_E_INVAL);
    /* a pointer to a pointer that points back to it */
    static const uint8_t two[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0xc0, 14, 0xc0, 12 };
    off = 12;
    ck_assert_int_eq(dns_name_read(two, sizeof two, &off, name, &nl), MOAT_E_INVAL);
    off = 14;
    ck_assert_int_eq(dns_name_read(two, sizeof two, &off, name, &nl), MOAT_E_INVAL);
}
END_TEST

/* ---- replies ---------------------------------------------------------------- */

START_TEST(dns_reply_a)
{
    struct w w;
    struct dns_reply r;
    reply_start(&w, 0, 0, 2, DNS_TYPE_A);
    rr_a(&w, 300, 0xc0000201u);
    rr_a(&w, 60, 0xc0000202u);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert_uint_eq(r.rcode, 0);
    ck_assert(!r.tc);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_uint_eq(r.ttl, 60);               /* the smallest */
    ck_assert_mem_eq(r.addr[0], "\xc0\x00\x02\x01", 4);
    ck_assert_mem_eq(r.addr[1], "\xc0\x00\x02\x02", 4);
}
END_TEST

START_TEST(dns_reply_aaaa_and_cname_chain)
{
    struct w w;
    struct dns_reply r;
    reply_start(&w, 0, 0, 4, DNS_TYPE_AAAA);
    size_t owner2 = w.n + 12;                   /* where the CNAME target name sits */
    /* files.moat.test CNAME www.moat.test */
    w16(&w, 0xc00c); w16(&w, DNS_TYPE_CNAME); w16(&w, 1); w32(&w, 100);
    w16(&w, 15); wname(&w, "www.moat.test");
    /* an unrelated AAAA for some other name: skipped */
    wname(&w, "evil.test"); w16(&w, DNS_TYPE_AAAA); w16(&w, 1); w32(&w, 9); w16(&w, 16);
    wbytes(&w, "EEEEEEEEEEEEEEEE", 16);
    /* AAAA for the question name itself: no longer the chain's end, skipped */
    w16(&w, 0xc00c); w16(&w, DNS_TYPE_AAAA); w16(&w, 1); w32(&w, 9); w16(&w, 16);
    wbytes(&w, "QQQQQQQQQQQQQQQQ", 16);
    /* www.moat.test (pointer to the CNAME target) AAAA 2001:db8::1 */
    w16(&w, 0xc000u | (unsigned)owner2); w16(&w, DNS_TYPE_AAAA); w16(&w, 1); w32(&w, 50);
    w16(&w, 16);
    wbytes(&w, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    ck_assert_int_eq(parse(&w, DNS_TYPE_AAAA, &r), 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_mem_eq(r.addr[0], "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    ck_assert_uint_eq(r.ttl, 50);
}
END_TEST

/* DNS-B-RESP-1 (wrong ID, question not ours) */
START_TEST(dns_reply_not_ours)
{
    struct w w;
    struct dns_reply r;
    reply_start(&w, 0, 0, 1, DNS_TYPE_A);
    rr_a(&w, 300, 1);
    ck_assert_int_eq(dns_reply_parse(w.b, w.n, ID + 1, qn, qnl, DNS_TYPE_A, &r), MOAT_E_INVAL);
    ck_assert_int_eq(parse(&w, DNS_TYPE_AAAA, &r), MOAT_E_INVAL);   /* other question */
    uint8_t other[DNS_NAME_MAX];
    size_t ol;
    ck_assert_int_eq(dns_name_encode("files.moat.tesu", other, &ol), 0);
    ck_assert_int_eq(dns_reply_parse(w.b, w.n, ID, other, ol, DNS_TYPE_A, &r), MOAT_E_INVAL);
    w.b[2] &= 0x7f;                             /* QR clear: a query, not a reply */
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    w.b[2] |= 0x80 | 0x10;                      /* opcode 2 */
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    w.b[2] &= (uint8_t)~0x10;
    w.b[5] = 0;                                 /* QDCOUNT 0 */
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    w.b[5] = 2;                                 /* QDCOUNT 2 */
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    w.b[5] = 1;
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert_int_eq(dns_reply_parse(w.b, 11, ID, qn, qnl, DNS_TYPE_A, &r), MOAT_E_INVAL);
}
END_TEST

/* DNS-NAME-BAD-1 (through a whole reply) */
START_TEST(dns_reply_compression_attacks)
{
    struct w w;
    struct dns_reply r;
    uint8_t name[DNS_NAME_MAX];
    size_t nl, off;
    /* a pointer to itself */
    reply_start(&w, 0, 0, 1, DNS_TYPE_A);
    size_t at = w.n;
    w16(&w, 0xc000u | (unsigned)at); w16(&w, 1); w16(&w, 1); w32(&w, 1); w16(&w, 4); w32(&w, 1);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    /* a forward pointer (could start a loop) */
    reply_start(&w, 0, 0, 1, DNS_TYPE_A);
    at = w.n;
    w16(&w, 0xc000u | (unsigned)(at + 2)); w16(&w, 0xc000u | (unsigned)at);
    w16(&w, 1); w16(&w, 1); w32(&w, 1); w16(&w, 4); w32(&w, 1);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    /* a long chain of backward pointers: bounded */
    memset(&w, 0, sizeof w);
    w.n = 12;
    w8(&w, 1); w8(&w, 'a'); w8(&w, 0);          /* offset 12: "a" */
    for (unsigned i = 0; i < 40; i++)
        w16(&w, 0xc000u | (unsigned)(w.n - 2 - (i == 0 ? 1 : 0)));
    off = w.n - 2;
    ck_assert_int_eq(dns_name_read(w.b, w.n, &off, name, &nl), MOAT_E_INVAL);
    off = 12 + 3;                               /* the first pointer: one jump */
    ck_assert_int_eq(dns_name_read(w.b, w.n, &off, name, &nl), 0);
    ck_assert_uint_eq(nl, 3);
    ck_assert_uint_eq(off, 17);
    /* labels that, through pointers, make a name over 255 bytes */
    memset(&w, 0, sizeof w);
    w.n = 12;
    size_t prev = 0;
    for (unsigned i = 0; i < 6; i++) {
        size_t start = w.n;
        w8(&w, 60);
        for (unsigned k = 0; k < 60; k++)
            w8(&w, 'x');
        if (prev)
            w16(&w, 0xc000u | (unsigned)prev);
        else
            w8(&w, 0);
        prev = start;
    }
    off = prev;
    ck_assert_int_eq(dns_name_read(w.b, w.n, &off, name, &nl), MOAT_E_INVAL);
    /* reserved label types 01 and 10 */
    uint8_t bad1[] = { 0x40, 'a', 0 }, bad2[] = { 0x80, 'a', 0 };
    off = 0;
    ck_assert_int_eq(dns_name_read(bad1, sizeof bad1, &off, name, &nl), MOAT_E_INVAL);
    off = 0;
    ck_assert_int_eq(dns_name_read(bad2, sizeof bad2, &off, name, &nl), MOAT_E_INVAL);
    /* a label running past the end, a pointer cut in half */
    uint8_t cut[] = { 5, 'a', 'b' }, half[] = { 1, 'a', 0xc0 };
    off = 0;
    ck_assert_int_eq(dns_name_read(cut, sizeof cut, &off, name, &nl), MOAT_E_INVAL);
    off = 2;
    ck_assert_int_eq(dns_name_read(half, sizeof half, &off, name, &nl), MOAT_E_INVAL);
}
END_TEST

START_TEST(dns_reply_lying_counts_and_lengths)
{
    struct w w;
    struct dns_reply r;
    /* ANCOUNT says 5, one record is there */
    reply_start(&w, 0, 0, 5, DNS_TYPE_A);
    rr_a(&w, 10, 1);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    /* RDLENGTH past the end */
    reply_start(&w, 0, 0, 1, DNS_TYPE_A);
    w16(&w, 0xc00c); w16(&w, 1); w16(&w, 1); w32(&w, 1); w16(&w, 400); w32(&w, 1);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    /* an A record of 5 bytes */
    reply_start(&w, 0, 0, 1, DNS_TYPE_A);
    w16(&w, 0xc00c); w16(&w, 1); w16(&w, 1); w32(&w, 1); w16(&w, 5); w32(&w, 1); w8(&w, 0);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    /* a CNAME whose name does not fill its RDATA exactly */
    reply_start(&w, 0, 0, 1, DNS_TYPE_A);
    w16(&w, 0xc00c); w16(&w, DNS_TYPE_CNAME); w16(&w, 1); w32(&w, 1); w16(&w, 4);
    w8(&w, 1); w8(&w, 'x'); w8(&w, 0); w8(&w, 0);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    /* more addresses than fit: the first DNS_MAX_ADDRS are kept */
    reply_start(&w, 0, 0, 20, DNS_TYPE_A);
    for (unsigned i = 0; i < 20; i++)
        rr_a(&w, 100, i + 1);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert_uint_eq(r.n, DNS_MAX_ADDRS);
    /* a CNAME loop (a -> a) ends at DNS_MAX_CNAMES */
    reply_start(&w, 0, 0, 12, DNS_TYPE_A);
    for (unsigned i = 0; i < 12; i++) {
        w16(&w, 0xc00c); w16(&w, DNS_TYPE_CNAME); w16(&w, 1); w32(&w, 1); w16(&w, 2);
        w16(&w, 0xc00c);
    }
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
}
END_TEST

START_TEST(dns_reply_rcode_tc_ttl)
{
    struct w w;
    struct dns_reply r;
    reply_start(&w, 0, DNS_RCODE_NXDOMAIN, 0, DNS_TYPE_A);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert_uint_eq(r.rcode, DNS_RCODE_NXDOMAIN);
    ck_assert_uint_eq(r.n, 0);
    /* truncated: a cut record after the question is fine, tc says why */
    reply_start(&w, 0x02, 0, 3, DNS_TYPE_A);
    w16(&w, 0xc00c); w16(&w, 1);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert(r.tc);
    /* TTL with the top bit set counts as 0 (RFC 2181 8); class CH ignored */
    reply_start(&w, 0, 0, 2, DNS_TYPE_A);
    rr_a(&w, 0x80000000u, 7);
    w16(&w, 0xc00c); w16(&w, 1); w16(&w, 3); w32(&w, 9); w16(&w, 4); w32(&w, 8);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.ttl, 0);
}
END_TEST

/* An SOA record of class IN (owner "moat.test" by pointer into the
 * question) with TTL @p ttl and MINIMUM @p min, in the authority section. */
static void rr_soa(struct w *w, uint32_t ttl, uint32_t min, int rdlen_delta)
{
    w16(w, 0xc012);                     /* "moat.test" inside the question */
    w16(w, DNS_TYPE_SOA); w16(w, 1); w32(w, ttl);
    w16(w, (unsigned)(2 + 2 + 20 + rdlen_delta));
    w16(w, 0xc012); w16(w, 0xc012);     /* MNAME, RNAME */
    w32(w, 1); w32(w, 2); w32(w, 3); w32(w, 4); w32(w, min);
}

/* RFC 2308: the negative TTL is the smaller of the SOA's TTL and MINIMUM;
 * an SOA whose names do not fill its RDATA exactly is refused. */
START_TEST(dns_reply_negative_ttl)
{
    struct w w;
    struct dns_reply r;
    reply_start(&w, 0, DNS_RCODE_NXDOMAIN, 0, DNS_TYPE_A);
    w.b[9] = 1;                         /* NSCOUNT */
    rr_soa(&w, 300, 60, 0);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert_uint_eq(r.rcode, DNS_RCODE_NXDOMAIN);
    ck_assert_uint_eq(r.neg_ttl, 60);
    reply_start(&w, 0, 0, 0, DNS_TYPE_AAAA);      /* NODATA */
    w.b[9] = 1;
    rr_soa(&w, 20, 600, 0);
    ck_assert_int_eq(parse(&w, DNS_TYPE_AAAA, &r), 0);
    ck_assert_uint_eq(r.n, 0);
    ck_assert_uint_eq(r.neg_ttl, 20);
    reply_start(&w, 0, DNS_RCODE_NXDOMAIN, 0, DNS_TYPE_A);
    w.b[9] = 1;
    rr_soa(&w, 300, 60, 1);
    w8(&w, 0);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    /* NSCOUNT that lies (records the walk reaches must be there; it
     * stops at the first SOA) */
    reply_start(&w, 0, DNS_RCODE_NXDOMAIN, 0, DNS_TYPE_A);
    w.b[9] = 2;
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), MOAT_E_INVAL);
    /* no SOA: nothing to cache by */
    reply_start(&w, 0, DNS_RCODE_NXDOMAIN, 0, DNS_TYPE_A);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert_uint_eq(r.neg_ttl, 0);
}
END_TEST

/* Every truncation and many single-byte changes of a valid reply give a
 * clean answer or a clean refusal (the unit tests run under ASan too). */
START_TEST(dns_reply_mutations)
{
    struct w w, t;
    struct dns_reply r;
    reply_start(&w, 0, 0, 3, DNS_TYPE_A);
    w16(&w, 0xc00c); w16(&w, DNS_TYPE_CNAME); w16(&w, 1); w32(&w, 100);
    w16(&w, 6); w8(&w, 3); wbytes(&w, "www", 3); w16(&w, 0xc012);
    rr_a(&w, 5, 1);
    w16(&w, 0xc000u | 45); w16(&w, 1); w16(&w, 1); w32(&w, 7); w16(&w, 4); w32(&w, 9);
    ck_assert_int_eq(parse(&w, DNS_TYPE_A, &r), 0);
    ck_assert_uint_eq(r.n, 1);
    unsigned ok = 0;
    for (size_t len = 0; len <= w.n; len++)
        if (dns_reply_parse(w.b, len, ID, qn, qnl, DNS_TYPE_A, &r) == 0)
            ok++;
    ck_assert_uint_ge(ok, 1);
    for (size_t i = 0; i < w.n; i++) {
        for (unsigned v = 0; v < 256; v += 5) {
            t = w;
            t.b[i] = (uint8_t)v;
            if (dns_reply_parse(t.b, t.n, ID, qn, qnl, DNS_TYPE_A, &r) == 0)
                ck_assert_uint_le(r.n, DNS_MAX_ADDRS);
        }
    }
}
END_TEST

/* The fuzz seeds (tests/fuzz/corpus/dns) are what their README says:
 * the valid ones parse (as replies to files.moat.test, A or AAAA), the
 * hostile ones are refused. */
static void dns_seed(const char *name, const uint8_t *data, size_t len, void *arg)
{
    static const char *const valid[] = { "a_two", "cname_chain", "aaaa", "truncated", "nxdomain" };
    (void)arg;
    int want = MOAT_E_INVAL;
    for (unsigned i = 0; i < sizeof valid / sizeof valid[0]; i++)
        if (strncmp(name, valid[i], strlen(valid[i])) == 0)
            want = 0;
    struct dns_reply r;
    uint16_t type = strncmp(name, "aaaa", 4) == 0 ? DNS_TYPE_AAAA : DNS_TYPE_A;
    ck_assert_msg(dns_reply_parse(data, len, ID, qn, qnl, type, &r) == want, "seed %s", name);
}

START_TEST(dns_reply_fuzz_seeds)
{
    ck_assert_int_eq(dns_name_encode("files.moat.test", qn, &qnl), 0);
    ck_assert_uint_ge(seeds_each(__FILE__, "dns", dns_seed, NULL), 9);
}
END_TEST

static Suite *dns_msg_suite(void)
{
    Suite *s = suite_create("dns_msg");
    TCase *tc = tcase_create("msg");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dns_name_encoding);
    tcase_add_test(tc, dns_query_bytes);
    tcase_add_test(tc, dns_name_read_valid);
    tcase_add_test(tc, dns_name_read_malformed);
    tcase_add_test(tc, dns_reply_a);
    tcase_add_test(tc, dns_reply_aaaa_and_cname_chain);
    tcase_add_test(tc, dns_reply_not_ours);
    tcase_add_test(tc, dns_reply_compression_attacks);
    tcase_add_test(tc, dns_reply_lying_counts_and_lengths);
    tcase_add_test(tc, dns_reply_rcode_tc_ttl);
    tcase_add_test(tc, dns_reply_negative_ttl);
    tcase_add_test(tc, dns_reply_mutations);
    tcase_add_test(tc, dns_reply_fuzz_seeds);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(dns_msg_suite)
