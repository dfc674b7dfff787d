/* SPDX-License-Identifier: MIT */
/*
 * pcap capture (ports/linux/pcap.c) around a wire end: frames sent and
 * received are written, the file parses back with the right global
 * header, record count, lengths and bytes. Also moat_link_from_config
 * (wire + pcap from a struct moat_if_config), the TAP driver's argument
 * errors, and - as root, in a private network namespace made with
 * unshare() that vanishes with the test process - a TAP link with capture
 * doing ARP and UDP with the kernel (192.0.2.0/24 only).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
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

/* Wait (bounded) for a frame on @p l with EtherType @p type whose bytes
 * at @p off equal @p want; copies it to @p out. Returns its length or 0. */
static size_t tap_wait_frame(struct moat_link *l, uint16_t type, size_t off,
                             const uint8_t *want, size_t wlen, uint8_t *out)
{
    for (int round = 0; round < 40; round++) {
        const uint8_t *f;
        size_t len;
        while (l->ops->rx_acquire(l, &f, &len) == 0) {
            int match = len >= off + wlen && len <= 1514 && f[12] == (type >> 8) &&
                        f[13] == (type & 0xff) && memcmp(f + off, want, wlen) == 0;
            if (match)
                memcpy(out, f, len);
            l->ops->rx_release(l);
            if (match)
                return len;
        }
        struct pollfd p = { .fd = l->ops->wait_fd(l), .events = POLLIN };
        poll(&p, 1, 100);
    }
    return 0;
}

static void if_ioctl(int s, unsigned long req, struct ifreq *ifr)
{
    ck_assert_msg(ioctl(s, req, ifr) == 0, "ioctl %lx on %s failed", req, ifr->ifr_name);
}

START_TEST(test_tap_link_capture)
{
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 ||
        unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "test_tap_link_capture: needs root (CAP_NET_ADMIN) and "
                        "/dev/net/tun; skipped\n");
        return;
    }
    /* A persistent TAP in our own namespace: up, 192.0.2.1/24. */
    const char *ifname = "moatt0";
    int cfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(cfd, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if_ioctl(cfd, TUNSETIFF, &ifr);
    ck_assert_int_eq(ioctl(cfd, TUNSETPERSIST, 1), 0);
    close(cfd);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(s, 0);
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(0xc0000201u);           /* 192.0.2.1 */
    if_ioctl(s, SIOCSIFADDR, &ifr);
    sin->sin_addr.s_addr = htonl(0xffffff00u);
    if_ioctl(s, SIOCSIFNETMASK, &ifr);
    if_ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    if_ioctl(s, SIOCSIFFLAGS, &ifr);
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if_ioctl(s, SIOCGIFHWADDR, &ifr);
    uint8_t kmac[6];
    memcpy(kmac, ifr.ifr_hwaddr.sa_data, 6);

    int fd = -1;
    struct moat_link *tap, *l;
    ck_assert_int_eq(moat_tap_open(ifname, &fd), 0);
    ck_assert_int_eq(moat_tap_link(fd, 1500, &tap), 0);
    ck_assert_int_eq(moat_pcap_link(tap, ppath, &l), 0);
    ck_assert_int_eq(l->ops->wait_fd(l), fd);

    /* The kernel sends a datagram to 192.0.2.2: first it asks ARP. */
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9),
                              .sin_addr.s_addr = htonl(0xc0000202u) };
    static const char payload[] = "moat tap test";
    ck_assert_int_eq(sendto(s, payload, sizeof payload, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)sizeof payload);
    static const uint8_t who_has[4] = { 192, 0, 2, 2 };
    uint8_t f[1514];
    ck_assert_uint_eq(tap_wait_frame(l, 0x0806, 38, who_has, 4, f), 42);
    ck_assert_mem_eq(f + 6, kmac, 6);

    /* We answer as 02:00:00:00:00:02; the kernel then sends the datagram. */
    static const uint8_t mymac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
    uint8_t *b;
    size_t cap;
    ck_assert_int_eq(l->ops->tx_acquire(l, &b, &cap), 0);
    ck_assert_uint_ge(cap, 1514);
    memset(b, 0, 60);
    memcpy(b, kmac, 6);
    memcpy(b + 6, mymac, 6);
    b[12] = 0x08; b[13] = 0x06;                         /* ARP */
    b[14] = 0; b[15] = 1; b[16] = 0x08; b[17] = 0;      /* Ethernet / IPv4 */
    b[18] = 6; b[19] = 4; b[20] = 0; b[21] = 2;         /* reply */
    memcpy(b + 22, mymac, 6);
    memcpy(b + 28, who_has, 4);
    memcpy(b + 32, kmac, 6);
    b[38] = 192; b[39] = 0; b[40] = 2; b[41] = 1;
    ck_assert_int_eq(l->ops->tx_commit(l, 60), 0);
    static const uint8_t udp_dst[6] = { 192, 0, 2, 2, 0, 9 };   /* ip dst + port */
    ck_assert_uint_eq(tap_wait_frame(l, 0x0800, 30, udp_dst, 4, f), 14 + 20 + 8 + sizeof payload);
    ck_assert_mem_eq(f, mymac, 6);
    ck_assert_mem_eq(f + 36, udp_dst + 4, 2);
    ck_assert_mem_eq(f + 42, payload, sizeof payload);

    struct moat_link_counters c;
    ck_assert_int_eq(moat_linux_link_counters(l, &c), 0);
    ck_assert_uint_eq(c.tx_frames, 1);
    ck_assert_uint_ge(c.rx_frames, 2);
    ck_assert_uint_eq(c.pcap_records, c.rx_frames + c.tx_frames);
    l->ops->close(l);
    close(s);

    /* The capture has all of it: rx and tx records, bytes as handled. */
    struct rec *recs = calloc(64, sizeof *recs);
    uint32_t n = read_pcap(ppath, recs, 64);
    ck_assert_uint_eq(n, c.pcap_records);
    int saw_reply = 0, saw_udp = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (recs[i].len == 60 && recs[i].data[21] == 2 && memcmp(recs[i].data + 6, mymac, 6) == 0)
            saw_reply = 1;
        if (recs[i].len == 14 + 20 + 8 + sizeof payload &&
            memcmp(recs[i].data + 42, payload, sizeof payload) == 0)
            saw_udp = saw_reply;   /* after our reply */
    }
    ck_assert(saw_reply && saw_udp);
    free(recs);
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
    tcase_add_test(tc, test_tap_link_capture);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(pcap_suite)
