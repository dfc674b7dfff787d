/* SPDX-License-Identifier: MIT */
/*
 * The header layer (core/hdr.c): parse and emit of Ethernet, IPv4, UDP
 * and TCP headers and TCP options. Known bytes in, known fields out (a
 * captured Linux SYN and a hand-built IPv4 header, checked with the
 * fixture's independent checksum); every refusal with the length that
 * just fails and the one that just passes; emit then parse gives the
 * representation back; the option writer's layout and its 40-byte bound;
 * a parse never reads past the length it was given (ASan builds run this
 * on heap copies of exactly that length).
 */
#include <stdlib.h>
#include <string.h>

#include "support/check_main.h"
#include "support/fx.h"
#include "core/core_priv.h"

/* @p len bytes of @p src in a heap block of exactly that size, so an
 * overread is an ASan error rather than a silent read of a stack array. */
static uint8_t *exact(const void *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, src, len);
    return p;
}

/* A SYN as Linux sends it: MSS 1460, SACK-permitted, timestamps, NOP,
 * window scale 7 (40 header bytes). */
static const uint8_t linux_syn[40] = {
    0x9c, 0x40, 0x00, 0x50,             /* 40000 -> 80 */
    0x00, 0x00, 0x30, 0x39,             /* seq 12345 */
    0x00, 0x00, 0x00, 0x00,             /* ack 0 */
    0xa0, 0x02, 0xfa, 0xf0,             /* doff 10, SYN, wnd 64240 */
    0x12, 0x34, 0x00, 0x00,             /* csum 0x1234, urg 0 */
    0x02, 0x04, 0x05, 0xb4,             /* MSS 1460 */
    0x04, 0x02,                         /* SACK-permitted */
    0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, /* TS 1 */
    0x00, 0x00, 0x00, 0x00,             /*    0 */
    0x01,                               /* NOP */
    0x03, 0x03, 0x07,                   /* WS 7 */
};

START_TEST(hdr_tcp_parse_linux_syn)
{
    uint8_t *h = exact(linux_syn, sizeof linux_syn);
    struct hdr_tcp t;
    struct hdr_tcp_opts o;
    ck_assert_int_eq(hdr_tcp_parse(h, sizeof linux_syn, &t), HDR_OK);
    ck_assert_uint_eq(t.sport, 40000);
    ck_assert_uint_eq(t.dport, 80);
    ck_assert_uint_eq(t.seq, 12345);
    ck_assert_uint_eq(t.ack, 0);
    ck_assert_uint_eq(t.hlen, 40);
    ck_assert_uint_eq(t.flags, 0x02);
    ck_assert_uint_eq(t.wnd, 64240);
    ck_assert_uint_eq(t.csum, 0x1234);
    hdr_tcp_opts_parse(h, &t, &o);
    ck_assert(!o.bad);
    ck_assert(o.has_mss && o.mss == 1460);
    ck_assert(o.sack_ok);
    ck_assert(o.ts_ok && o.tsval == 1 && o.tsecr == 0);
    ck_assert(o.has_ws && o.ws == 7);
    ck_assert_uint_eq(o.n_sack, 0);
    /* One byte short of the header its offset claims: refused, not read. */
    free(h);
    h = exact(linux_syn, 39);
    ck_assert_int_eq(hdr_tcp_parse(h, 39, &t), HDR_E_HDRLEN);
    ck_assert_int_eq(hdr_tcp_parse(h, 19, &t), HDR_E_SHORT);
    free(h);
}
END_TEST

START_TEST(hdr_tcp_offset_bounds)
{
    uint8_t b[60] = {0};
    struct hdr_tcp t;
    for (unsigned doff = 0; doff < 16; doff++) {
        b[12] = (uint8_t)(doff << 4);
        int want = doff < 5 ? HDR_E_HDRLEN : HDR_OK;
        ck_assert_int_eq(hdr_tcp_parse(b, sizeof b, &t), want);
        ck_assert_uint_eq(t.hlen, doff * 4);
        /* exactly the header's length passes, one less fails */
        if (doff >= 5) {
            ck_assert_int_eq(hdr_tcp_parse(b, doff * 4, &t), HDR_OK);
            ck_assert_int_eq(hdr_tcp_parse(b, doff * 4 - 1, &t),
                             doff * 4 - 1 < 20 ? HDR_E_SHORT : HDR_E_HDRLEN);
        }
    }
}
END_TEST

/* Options: malformed ones set bad; a wrong length is skipped, a length
 * past the header ends the list; what came before still counts. */
START_TEST(hdr_tcp_opts_malformed)
{
    struct hdr_tcp t = {.hlen = 32};
    struct hdr_tcp_opts o;
    uint8_t h[32] = {0};
    /* MSS with length 3 (skipped), then a good timestamp */
    const uint8_t a[12] = {2, 3, 0, 8, 10, 0, 0, 0, 9, 0, 0, 0};
    memcpy(h + 20, a, sizeof a);
    hdr_tcp_opts_parse(h, &t, &o);
    ck_assert(o.bad && !o.has_mss);
    ck_assert(!o.ts_ok);        /* 8,10 starts at byte 3 of the options: 3 + 10 > 12 */
    /* WS 14, then an option whose length runs past the header */
    const uint8_t c[12] = {3, 3, 14, 1, 2, 4, 5, 0xb4, 8, 20, 0, 0};
    memcpy(h + 20, c, sizeof c);
    hdr_tcp_opts_parse(h, &t, &o);
    ck_assert(o.bad);
    ck_assert(o.has_ws && o.ws == 14);
    ck_assert(o.has_mss && o.mss == 1460);
    ck_assert(!o.ts_ok);
    /* a kind in the last byte, with no room for its length */
    const uint8_t d[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2};
    memcpy(h + 20, d, sizeof d);
    hdr_tcp_opts_parse(h, &t, &o);
    ck_assert(o.bad && !o.has_mss);
    /* end of list stops reading: the MSS after it is not seen */
    const uint8_t e[12] = {0, 2, 4, 5, 0xb4, 0, 0, 0, 0, 0, 0, 0};
    memcpy(h + 20, e, sizeof e);
    hdr_tcp_opts_parse(h, &t, &o);
    ck_assert(!o.bad && !o.has_mss);
    /* SACK of a length that is not 2 + 8k; unknown kinds are skipped */
    const uint8_t g[12] = {5, 6, 0, 0, 0, 1, 30, 4, 0, 0, 4, 2};
    memcpy(h + 20, g, sizeof g);
    hdr_tcp_opts_parse(h, &t, &o);
    ck_assert(o.bad);
    ck_assert_uint_eq(o.n_sack, 0);
    ck_assert(o.sack_ok);
}
END_TEST

/* The writer's layout is the one moat puts on the wire (4-byte aligned,
 * SACK-permitted in the timestamps' padding), and parse gives back what
 * was written. */
START_TEST(hdr_tcp_opts_roundtrip)
{
    struct hdr_tcp_opts o;
    memset(&o, 0, sizeof o);    /* padding too: compared whole below */
    o.has_mss = 1;
    o.mss = 1460;
    o.sack_ok = 1;
    o.ts_ok = 1;
    o.tsval = 0x01020304;
    o.tsecr = 0x05060708;
    o.has_ws = 1;
    o.ws = 7;
    uint8_t b[60] = {0};
    unsigned n = hdr_tcp_opts_emit(&o, b + 20);
    static const uint8_t want[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
                                     5, 6, 7, 8, 1, 3, 3, 7};
    ck_assert_uint_eq(n, 20);
    ck_assert_uint_eq(hdr_tcp_opts_len(&o), 20);
    ck_assert_mem_eq(b + 20, want, 20);
    struct hdr_tcp t = {.sport = 1, .dport = 2, .seq = 3, .ack = 4, .hlen = (uint8_t)(20 + n),
                        .flags = 0x12, .wnd = 5, .csum = 6, .urg = 0};
    hdr_tcp_emit(&t, b);
    struct hdr_tcp t2;
    struct hdr_tcp_opts o2;
    ck_assert_int_eq(hdr_tcp_parse(b, 20 + n, &t2), HDR_OK);
    ck_assert_mem_eq(&t, &t2, sizeof t);
    hdr_tcp_opts_parse(b, &t2, &o2);
    ck_assert_mem_eq(&o, &o2, sizeof o);

    /* SACK blocks: four fit alone, three beside timestamps; the rest is
     * left out rather than written past 40 bytes. */
    struct hdr_tcp_opts s = {.n_sack = 4};
    for (unsigned k = 0; k < 4; k++) {
        s.sack[k].l = 1000 * k;
        s.sack[k].r = 1000 * k + 500;
    }
    ck_assert_uint_eq(hdr_tcp_opts_emit(&s, b + 20), 36);
    s.ts_ok = 1;
    memset(b, 0xee, sizeof b);
    ck_assert_uint_eq(hdr_tcp_opts_emit(&s, b + 20), 40);
    ck_assert_uint_eq(hdr_tcp_opts_len(&s), 40);
    t.hlen = 60;
    hdr_tcp_emit(&t, b);
    ck_assert_int_eq(hdr_tcp_parse(b, 60, &t2), HDR_OK);
    hdr_tcp_opts_parse(b, &t2, &o2);
    ck_assert(!o2.bad && o2.ts_ok);
    ck_assert_uint_eq(o2.n_sack, 3);
    ck_assert_uint_eq(o2.sack[2].r, 2500);
    /* MSS + timestamps + WS leave room for two blocks */
    s.has_mss = 1;
    s.has_ws = 1;
    ck_assert_uint_eq(hdr_tcp_opts_emit(&s, b + 20), 20 + 4 + 2 * 8);
}
END_TEST

/* A 20-byte IPv4 header with every field distinct. */
static const struct hdr_ip4 ip_ref = {.hlen = 20, .tos = 0xb8, .ttl = 63, .proto = 17,
                                      .tot_len = 48, .id = 0xbeef, .frag = 0x4000,
                                      .src = 0xc0000201, .dst = 0xc6120005};

static bool ip_eq(const struct hdr_ip4 *a, const struct hdr_ip4 *b)
{
    return a->hlen == b->hlen && a->tos == b->tos && a->ttl == b->ttl && a->proto == b->proto &&
           a->tot_len == b->tot_len && a->id == b->id && a->frag == b->frag &&
           a->src == b->src && a->dst == b->dst;
}

START_TEST(hdr_ip4_roundtrip)
{
    uint8_t b[48] = {0};
    hdr_ip4_emit(&ip_ref, b);
    ck_assert_uint_eq(b[0], 0x45);
    ck_assert_uint_eq(fx_cksum(b, 20), 0);      /* the fixture's own sum */
    uint8_t *p = exact(b, sizeof b);
    struct hdr_ip4 ip;
    ck_assert_int_eq(hdr_ip4_parse(p, sizeof b, 0, &ip), HDR_OK);
    ck_assert(ip_eq(&ip, &ip_ref));
    ck_assert(!hdr_ip4_is_frag(&ip));           /* DF alone is not a fragment */
    free(p);
    /* refit: new length and fragment field, checksum still right */
    hdr_ip4_refit(b, 28, HDR_IP4_MF | 3);
    ck_assert_uint_eq(fx_cksum(b, 20), 0);
    ck_assert_int_eq(hdr_ip4_parse(b, 28, 0, &ip), HDR_OK);
    ck_assert_uint_eq(ip.tot_len, 28);
    ck_assert(hdr_ip4_is_frag(&ip));
}
END_TEST

START_TEST(hdr_ip4_refusals)
{
    uint8_t b[64] = {0};
    struct hdr_ip4 ip;
    hdr_ip4_emit(&ip_ref, b);
    /* lengths: the datagram needs its 48 bytes, padding after it is fine */
    ck_assert_int_eq(hdr_ip4_parse(b, 19, 0, &ip), HDR_E_SHORT);
    ck_assert_int_eq(hdr_ip4_parse(b, 47, 0, &ip), HDR_E_TOTLEN);
    ck_assert_uint_eq(ip.tot_len, 48);          /* fields are there to report */
    ck_assert_int_eq(hdr_ip4_parse(b, 64, 0, &ip), HDR_OK);
    /* a total length under the header */
    uint8_t c[64];
    memcpy(c, b, sizeof c);
    hdr_ip4_refit(c, 19, 0);
    ck_assert_int_eq(hdr_ip4_parse(c, 64, 0, &ip), HDR_E_TOTLEN);
    /* version */
    memcpy(c, b, sizeof c);
    c[0] = 0x65;
    ck_assert_int_eq(hdr_ip4_parse(c, 64, 0, &ip), HDR_E_VERSION);
    /* header length: 4 words, and 15 words (60 bytes) past 48 bytes */
    c[0] = 0x44;
    ck_assert_int_eq(hdr_ip4_parse(c, 64, 0, &ip), HDR_E_HDRLEN);
    c[0] = 0x4f;
    ck_assert_int_eq(hdr_ip4_parse(c, 48, 0, &ip), HDR_E_HDRLEN);
    /* checksum: wrong is refused unless the caller takes it on itself */
    memcpy(c, b, sizeof c);
    c[10] ^= 1;
    ck_assert_int_eq(hdr_ip4_parse(c, 64, 0, &ip), HDR_E_CHECKSUM);
    ck_assert_int_eq(hdr_ip4_parse(c, 64, HDR_IP4_NO_CSUM, &ip), HDR_OK);
    /* the checksum covers options: a 24-byte header with a NOP option */
    memcpy(c, b, sizeof c);
    c[0] = 0x46;
    c[20] = 1;
    hdr_ip4_refit(c, 48, 0);
    ck_assert_uint_eq(fx_cksum(c, 24), 0);
    ck_assert_int_eq(hdr_ip4_parse(c, 64, 0, &ip), HDR_OK);
    ck_assert_uint_eq(ip.hlen, 24);
    c[21] ^= 0x80;
    ck_assert_int_eq(hdr_ip4_parse(c, 64, 0, &ip), HDR_E_CHECKSUM);
    ck_assert_str_ne(hdr_strerror(HDR_E_CHECKSUM), hdr_strerror(HDR_E_TOTLEN));
    ck_assert_ptr_nonnull(hdr_strerror(99));
}
END_TEST

START_TEST(hdr_udp_and_eth)
{
    uint8_t u[16] = {0};
    const struct hdr_udp h = {.sport = 53, .dport = 33000, .len = 12, .csum = 0xabcd};
    struct hdr_udp g;
    hdr_udp_emit(&h, u);
    ck_assert_int_eq(hdr_udp_parse(u, 16, &g), HDR_OK);    /* 4 bytes beyond: ignored */
    ck_assert_mem_eq(&g, &h, sizeof g);
    ck_assert_int_eq(hdr_udp_parse(u, 12, &g), HDR_OK);
    ck_assert_int_eq(hdr_udp_parse(u, 11, &g), HDR_E_TOTLEN);
    ck_assert_int_eq(hdr_udp_parse(u, 7, &g), HDR_E_SHORT);
    u[5] = 7;   /* a length under the header */
    ck_assert_int_eq(hdr_udp_parse(u, 16, &g), HDR_E_TOTLEN);

    uint8_t f[14];
    struct hdr_eth e;
    hdr_eth_emit(f, fx_bcast_mac, fx_r_mac, 0x0806);
    uint8_t *p = exact(f, 14);
    ck_assert_int_eq(hdr_eth_parse(p, 14, &e), HDR_OK);
    ck_assert_mem_eq(e.dst, fx_bcast_mac, 6);
    ck_assert_mem_eq(e.src, fx_r_mac, 6);
    ck_assert_uint_eq(e.type, 0x0806);
    ck_assert_int_eq(hdr_eth_parse(p, 13, &e), HDR_E_SHORT);
    free(p);
}
END_TEST

static Suite *hdr_suite(void)
{
    Suite *s = suite_create("hdr");
    TCase *tc = tcase_create("hdr");
    tcase_add_test(tc, hdr_tcp_parse_linux_syn);
    tcase_add_test(tc, hdr_tcp_offset_bounds);
    tcase_add_test(tc, hdr_tcp_opts_malformed);
    tcase_add_test(tc, hdr_tcp_opts_roundtrip);
    tcase_add_test(tc, hdr_ip4_roundtrip);
    tcase_add_test(tc, hdr_ip4_refusals);
    tcase_add_test(tc, hdr_udp_and_eth);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(hdr_suite)
