/* SPDX-License-Identifier: MIT */
/*
 * pcap capture (ports/linux/pcap.c) around a wire end: frames sent and
 * received are written, the file parses back with the right global
 * header, record count, lengths and bytes. Also moat_link_from_config
 * (wire + pcap from a struct moat_if_config) and the TAP driver's
 * argument errors, which need no root.
 */
#define _GNU_SOURCE
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ports/linux/linux_link.h"
#include "support/check_main.h"

static char tmpdir[64];
static char wpath[128];
static char ppath[128];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/moat-pcap-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(wpath, sizeof wpath, "%s/wire", tmpdir);
    snprintf(ppath, sizeof ppath, "%s/cap.pcap", tmpdir);
}

static void teardown(void)
{
    moat_wire_unlink(wpath);
    unlink(ppath);
    rmdir(tmpdir);
}

static void fill(uint8_t *buf, size_t len, uint8_t tag)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(tag + i);
}

static void send_bytes(struct moat_link *l, size_t len, uint8_t tag)
{
    uint8_t *buf;
    size_t cap;
    ck_assert_int_eq(l->ops->tx_acquire(l, &buf, &cap), 0);
    ck_assert_uint_ge(cap, len);
    fill(buf, len, tag);
    ck_assert_int_eq(l->ops->tx_commit(l, len), 0);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

struct rec {
    uint32_t sec, usec, caplen, len;
    uint8_t data[2048];
};

/* Parse @p path: check the global header, return the records. */
static uint32_t read_pcap(const char *path, struct rec *recs, uint32_t max)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t gh[24];
    ck_assert_uint_eq(fread(gh, 1, sizeof gh, f), sizeof gh);
    ck_assert_uint_eq(get32(gh), 0xa1b2c3d4u);
    ck_assert_uint_eq(get16(gh + 4), 2);
    ck_assert_uint_eq(get16(gh + 6), 4);
    ck_assert_uint_eq(get32(gh + 8), 0);
    ck_assert_uint_eq(get32(gh + 12), 0);
    ck_assert_uint_eq(get32(gh + 16), 65535);
    ck_assert_uint_eq(get32(gh + 20), 1);
    uint32_t n = 0;
    for (;;) {
        uint8_t rh[16];
        size_t got = fread(rh, 1, sizeof rh, f);
        if (got == 0)
            break;
        ck_assert_uint_eq(got, sizeof rh);
        ck_assert_uint_lt(n, max);
        struct rec *r = &recs[n++];
        r->sec = get32(rh);
        r->usec = get32(rh + 4);
        r->caplen = get32(rh + 8);
        r->len = get32(rh + 12);
        ck_assert_uint_lt(r->usec, 1000000);
        ck_assert_uint_le(r->caplen, sizeof r->data);
        ck_assert_uint_eq(fread(r->data, 1, r->caplen, f), r->caplen);
    }
    fclose(f);
    return n;
}

START_TEST(test_pcap_capture)
{
    struct moat_link *inner, *a, *b;
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &inner), 0);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &b), 0);
    ck_assert_int_eq(moat_pcap_link(inner, ppath, &a), 0);
    ck_assert_uint_eq(a->mtu, 1500);
    ck_assert_int_eq(a->ops->wait_fd(a), inner->ops->wait_fd(inner));

    /* A sends 5 frames (one abandoned buffer in between: not recorded). */
    static const size_t sent_len[5] = { 60, 1514, 14, 100, 1 };
    for (int i = 0; i < 5; i++) {
        send_bytes(a, sent_len[i], (uint8_t)(0x10 * i));
        if (i == 2) {
            uint8_t *buf;
            size_t cap;
            ck_assert_int_eq(a->ops->tx_acquire(a, &buf, &cap), 0);
            ck_assert_int_eq(a->ops->tx_commit(a, 0), 0);
        }
    }
    ck_assert_int_eq(a->ops->flush(a), 0);
    /* B got them through the wrapper unchanged. */
    for (int i = 0; i < 5; i++) {
        const uint8_t *f;
        size_t len;
        ck_assert_int_eq(b->ops->rx_acquire(b, &f, &len), 0);
        ck_assert_uint_eq(len, sent_len[i]);
        uint8_t ref[1514];
        fill(ref, len, (uint8_t)(0x10 * i));
        ck_assert_mem_eq(f, ref, len);
        b->ops->rx_release(b);
    }
    /* B sends 3, A receives them through the wrapper. */
    static const size_t recv_len[3] = { 42, 590, 1200 };
    for (int i = 0; i < 3; i++)
        send_bytes(b, recv_len[i], (uint8_t)(0x80 + i));
    b->ops->flush(b);
    ck_assert_int_eq(a->ops->next_due_us(a, 0), 0);
    ck_assert_int_ne(a->ops->arm(a), 0);
    for (int i = 0; i < 3; i++) {
        const uint8_t *f;
        size_t len;
        ck_assert_int_eq(a->ops->rx_acquire(a, &f, &len), 0);
        ck_assert_uint_eq(len, recv_len[i]);
        a->ops->rx_release(a);
    }
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(a->ops->rx_acquire(a, &f, &len), MOAT_E_AGAIN);

    struct moat_link_counters c;
    ck_assert_int_eq(moat_linux_link_counters(a, &c), 0);
    ck_assert_uint_eq(c.pcap_records, 8);
    ck_assert_uint_eq(c.tx_frames, 5);      /* the inner wire's counters */
    ck_assert_uint_eq(c.rx_frames, 3);
    a->ops->close(a);                        /* flushes the file, closes inner */
    b->ops->close(b);

    struct rec *recs = calloc(16, sizeof *recs);
    uint32_t n = read_pcap(ppath, recs, 16);
    ck_assert_uint_eq(n, 8);
    uint64_t bytes = 0, prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t want = i < 5 ? sent_len[i] : recv_len[i - 5];
        uint8_t tag = (uint8_t)(i < 5 ? 0x10 * i : 0x80 + (i - 5));
        uint8_t ref[1514];
        ck_assert_uint_eq(recs[i].len, want);
        ck_assert_uint_eq(recs[i].caplen, want);
        fill(ref, want, tag);
        ck_assert_mem_eq(recs[i].data, ref, want);
        uint64_t t = (uint64_t)recs[i].sec * 1000000u + recs[i].usec;
        ck_assert_uint_gt(recs[i].sec, 0);
        ck_assert_uint_ge(t, prev);
        prev = t;
        bytes += recs[i].len;
    }
    ck_assert_uint_eq(bytes, 60 + 1514 + 14 + 100 + 1 + 42 + 590 + 1200);
    free(recs);
}
END_TEST

START_TEST(test_pcap_errors)
{
    struct moat_link *inner, *p = NULL;
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &inner), 0);
    char bad[PATH_MAX];
    snprintf(bad, sizeof bad, "%s/no/such/dir.pcap", tmpdir);
    /* Takes inner even on failure: the wire end is detached again, so
     * two new ends can attach. */
    ck_assert_int_eq(moat_pcap_link(inner, bad, &p), MOAT_E_IO);
    ck_assert_ptr_null(p);
    struct moat_link *x, *y;
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &x), 0);
    ck_assert_int_eq(moat_wire_link(wpath, NULL, 1500, &y), 0);
    x->ops->close(x);
    y->ops->close(y);
}
END_TEST

START_TEST(test_link_from_config)
{
    struct moat_if_config ifc;
    memset(&ifc, 0, sizeof ifc);
    struct moat_link *l = NULL, *m = NULL;

    ifc.link = MOAT_LINK_NONE;
    ck_assert_int_eq(moat_link_from_config(&ifc, &l), MOAT_E_INVAL);
    ifc.link = MOAT_LINK_CUSTOM;
    ck_assert_int_eq(moat_link_from_config(&ifc, &l), MOAT_E_INVAL);

    /* Wire with capture, default MTU; the second end with impairments. */
    ifc.link = MOAT_LINK_WIRE;
    snprintf(ifc.dev, sizeof ifc.dev, "%s", wpath);
    snprintf(ifc.pcap, sizeof ifc.pcap, "%s", ppath);
    ck_assert_int_eq(moat_link_from_config(&ifc, &l), 0);
    ck_assert_uint_eq(l->mtu, 1500);
    ck_assert_uint_eq(l->has_mac, 0);
    ifc.pcap[0] = '\0';
    ifc.mtu = 9000;
    ifc.impair.loss_ppm = 1000000;
    ck_assert_int_eq(moat_link_from_config(&ifc, &m), 0);
    ck_assert_uint_eq(m->mtu, 9000);
    send_bytes(m, 100, 1);                    /* lost on the way */
    send_bytes(l, 100, 2);                    /* captured and delivered */
    const uint8_t *f;
    size_t len;
    ck_assert_int_eq(l->ops->rx_acquire(l, &f, &len), MOAT_E_AGAIN);
    ck_assert_int_eq(m->ops->rx_acquire(m, &f, &len), 0);
    ck_assert_uint_eq(len, 100);
    struct moat_link_counters c;
    ck_assert_int_eq(moat_linux_link_counters(m, &c), 0);
    ck_assert_uint_eq(c.imp_lost, 1);
    l->ops->close(l);
    m->ops->close(m);
    struct rec *recs = calloc(4, sizeof *recs);
    ck_assert_uint_eq(read_pcap(ppath, recs, 4), 1);
    free(recs);

    /* A third end: in use. */
    ck_assert_int_eq(moat_link_from_config(&ifc, &l), 0);
    ck_assert_int_eq(moat_link_from_config(&ifc, &m), 0);
    struct moat_link *z = NULL;
    ck_assert_int_eq(moat_link_from_config(&ifc, &z), MOAT_E_ADDRINUSE);
    l->ops->close(l);
    m->ops->close(m);

    /* TAP: a missing interface is reported, never created. */
    ifc.link = MOAT_LINK_TAP;
    snprintf(ifc.dev, sizeof ifc.dev, "moatnx%d", (int)getpid() % 100000);
    ck_assert_int_eq(moat_link_from_config(&ifc, &l), MOAT_E_NODEV);
    snprintf(ifc.dev, sizeof ifc.dev, "a-name-longer-than-ifnamsiz");
    ck_assert_int_eq(moat_link_from_config(&ifc, &l), MOAT_E_INVAL);
    int fd = -1;
    ck_assert_int_eq(moat_tap_open("", &fd), MOAT_E_INVAL);
    ck_assert_int_eq(fd, -1);

    /* Not a Linux-port link: counters refuse it. */
    struct moat_link foreign = { 0 };
    ck_assert_int_eq(moat_linux_link_counters(&foreign, &c), MOAT_E_INVAL);
}
END_TEST

static Suite *pcap_suite(void)
{
    Suite *s = suite_create("pcap");
    TCase *tc = tcase_create("pcap");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_pcap_capture);
    tcase_add_test(tc, test_pcap_errors);
    tcase_add_test(tc, test_link_from_config);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(pcap_suite)
