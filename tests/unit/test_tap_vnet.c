/* SPDX-License-Identifier: MIT */
/*
 * The TAP driver's judgement of received virtio-net headers (offload
 * mode, ports/linux/tap.c): a SOCK_SEQPACKET socketpair stands in for the
 * device (one write = one frame with its header, as a TAP read returns
 * it), so every case runs without root. Valid NEEDS_CSUM / DATA_VALID /
 * TSO4 headers make the frame MOAT_LINK_RX_CSUM_OK; anything else the
 * kernel may not send with the features moat asks for is MOAT_LINK_RX_BAD,
 * counted in rx_bad_meta, and (through the core) a LINK_RX_BAD drop.
 * On transmit: what a link domain writes through linux_tap_tx_at is not
 * joined with anything.
 */
#define _GNU_SOURCE
#include <check.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/check_main.h"
#include "ports/linux/linux_link.h"

static int peer = -1;
static struct moat_link *tap;
static uint8_t buf[80000];

static void setup(void)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
    int sz = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    peer = sv[0];
    ck_assert_int_eq(linux_tap_link_vnet(sv[1], 1500, &tap), 0);
}

static void teardown(void)
{
    tap->ops->close(tap);
    close(peer);
}

static void wr16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* An Ethernet + IPv4 frame of @p proto with @p l4 transport bytes (TCP
 * gets a 20-byte header) after a virtio-net header @p vh; returns the
 * bytes written to the "device". */
static size_t vframe(const struct virtio_net_hdr *vh, uint8_t proto, size_t l4, unsigned frag)
{
    size_t vl = sizeof *vh;
    memset(buf, 0, vl + 14 + 20 + l4);
    memcpy(buf, vh, vl);
    uint8_t *f = buf + vl;
    memset(f, 0x02, 12);
    wr16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    wr16(ip + 2, (unsigned)(20 + l4));
    wr16(ip + 6, frag);
    ip[8] = 64;
    ip[9] = proto;
    if (proto == 6 && l4 >= 20)
        ip[20 + 12] = 5u << 4;
    return vl + 14 + 20 + l4;
}

/* Write @p n bytes of buf; return what rx_acquire made of them. */
static int deliver(size_t n, uint32_t *flags, size_t *len)
{
    ck_assert_int_eq(write(peer, buf, n), (ssize_t)n);
    const uint8_t *fr;
    int r = tap->ops->rx_acquire(tap, &fr, len);
    if (r == 0) {
        *flags = tap->rx_flags;
        tap->ops->rx_release(tap);
    }
    return r;
}

static uint64_t bad_meta(void)
{
    struct moat_link_counters c;
    ck_assert_int_eq(moat_linux_link_counters(tap, &c), 0);
    return c.rx_bad_meta;
}

#define VH(...) ((struct virtio_net_hdr){ __VA_ARGS__ })
#define NEEDS VIRTIO_NET_HDR_F_NEEDS_CSUM

static void expect(const struct virtio_net_hdr *vh, uint8_t proto, size_t l4, unsigned frag,
                   uint32_t want)
{
    uint32_t flags = 0xdead;
    size_t len = 0, n = vframe(vh, proto, l4, frag);
    uint64_t bad = bad_meta();
    ck_assert_int_eq(deliver(n, &flags, &len), 0);
    ck_assert_uint_eq(len, n - sizeof *vh);
    ck_assert_uint_eq(flags, want);
    ck_assert_uint_eq(bad_meta(), bad + (want == MOAT_LINK_RX_BAD ? 1 : 0));
}

START_TEST(vnet_valid_headers)
{
    /* Nothing said: the core checks everything. */
    expect(&VH(.gso_type = VIRTIO_NET_HDR_GSO_NONE), 6, 100, 0, 0);
    expect(&VH(.flags = VIRTIO_NET_HDR_F_DATA_VALID), 6, 100, 0, MOAT_LINK_RX_CSUM_OK);
    /* Partial checksums at the TCP and the UDP field. */
    expect(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 16), 6, 100, 0,
           MOAT_LINK_RX_CSUM_OK);
    expect(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 6), 17, 100, 0,
           MOAT_LINK_RX_CSUM_OK);
    /* A 60000-byte TSO frame, whole (with and without the ECN bit). */
    expect(&VH(.flags = NEEDS, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448,
               .hdr_len = 54, .csum_start = 34, .csum_offset = 16),
           6, 60000, 0, MOAT_LINK_RX_CSUM_OK);
    expect(&VH(.flags = NEEDS,
               .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
               .gso_size = 1448, .csum_start = 34, .csum_offset = 16),
           6, 3000, 0, MOAT_LINK_RX_CSUM_OK);
    ck_assert_uint_eq(bad_meta(), 0);
}
END_TEST

/* An Ethernet + IPv6 frame whose fixed header names @p nh, with @p l4
 * bytes after it, behind @p vh; written and judged like expect(). */
static void expect6(const struct virtio_net_hdr *vh, uint8_t nh, size_t l4, uint32_t want)
{
    size_t vl = sizeof *vh, n = vl + 14 + 40 + l4;
    memset(buf, 0, n);
    memcpy(buf, vh, vl);
    uint8_t *f = buf + vl;
    memset(f, 0x02, 12);
    wr16(f + 12, 0x86dd);
    f[14] = 0x60;
    wr16(f + 14 + 4, (unsigned)l4);
    f[14 + 6] = nh;
    f[14 + 7] = 64;
    uint32_t flags = 0xdead;
    size_t len = 0;
    uint64_t bad = bad_meta();
    ck_assert_int_eq(deliver(n, &flags, &len), 0);
    ck_assert_uint_eq(len, n - vl);
    ck_assert_uint_eq(flags, want);
    ck_assert_uint_eq(bad_meta(), bad + (want == MOAT_LINK_RX_BAD ? 1 : 0));
}

/* The kernel leaves UDP (and TCP) checksums over IPv6 to the device too:
 * a NEEDS_CSUM header naming the field right after the fixed header is
 * CSUM_OK; anything else (another offset, an extension header first, a
 * payload length past the frame, GSO) is BAD. */
START_TEST(vnet_ipv6_partial_checksum)
{
    expect6(&VH(.flags = NEEDS, .csum_start = 54, .csum_offset = 6), 17, 100,
            MOAT_LINK_RX_CSUM_OK);
    expect6(&VH(.flags = NEEDS, .csum_start = 54, .csum_offset = 16), 6, 100,
            MOAT_LINK_RX_CSUM_OK);
    expect6(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 6), 17, 100, MOAT_LINK_RX_BAD);
    expect6(&VH(.flags = NEEDS, .csum_start = 54, .csum_offset = 16), 17, 100, MOAT_LINK_RX_BAD);
    expect6(&VH(.flags = NEEDS, .csum_start = 54, .csum_offset = 6), 0, 100, MOAT_LINK_RX_BAD);
    expect6(&VH(.flags = NEEDS, .csum_start = 54, .csum_offset = 6), 17, 4, MOAT_LINK_RX_BAD);
    expect6(&VH(.flags = NEEDS, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1000,
                .csum_start = 54, .csum_offset = 16), 6, 3000, MOAT_LINK_RX_BAD);
    expect6(&VH(.flags = VIRTIO_NET_HDR_F_DATA_VALID), 17, 100, MOAT_LINK_RX_CSUM_OK);
}
END_TEST

START_TEST(vnet_malformed_headers_are_counted)
{
    const uint8_t tsov4 = VIRTIO_NET_HDR_GSO_TCPV4;
    /* Unknown flag bit. */
    expect(&VH(.flags = 0x4), 6, 100, 0, MOAT_LINK_RX_BAD);
    /* GSO types we never asked for. */
    expect(&VH(.flags = NEEDS, .gso_type = VIRTIO_NET_HDR_GSO_UDP, .gso_size = 1000,
               .csum_start = 34, .csum_offset = 6),
           17, 3000, 0, MOAT_LINK_RX_BAD);
    expect(&VH(.flags = NEEDS, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1000,
               .csum_start = 34, .csum_offset = 16),
           6, 3000, 0, MOAT_LINK_RX_BAD);
    /* ECN bit without GSO. */
    expect(&VH(.gso_type = VIRTIO_NET_HDR_GSO_ECN), 6, 100, 0, MOAT_LINK_RX_BAD);
    /* GSO that does not leave the checksum to us. */
    expect(&VH(.gso_type = tsov4, .gso_size = 1448), 6, 3000, 0, MOAT_LINK_RX_BAD);
    /* GSO with gso_size 0, or not TCP. */
    expect(&VH(.flags = NEEDS, .gso_type = tsov4, .csum_start = 34, .csum_offset = 16), 6,
           3000, 0, MOAT_LINK_RX_BAD);
    expect(&VH(.flags = NEEDS, .gso_type = tsov4, .gso_size = 1448, .csum_start = 34,
               .csum_offset = 6),
           17, 3000, 0, MOAT_LINK_RX_BAD);
    /* csum_start not at the transport header; offset not the protocol's field. */
    expect(&VH(.flags = NEEDS, .csum_start = 14, .csum_offset = 16), 6, 100, 0, MOAT_LINK_RX_BAD);
    expect(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 6), 6, 100, 0, MOAT_LINK_RX_BAD);
    expect(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 2), 1, 100, 0, MOAT_LINK_RX_BAD);
    /* The checksum field past the end of the datagram. */
    expect(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 16), 6, 10, 0, MOAT_LINK_RX_BAD);
    /* A fragment (MF set, or an offset). */
    expect(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 16), 6, 100, 0x2000,
           MOAT_LINK_RX_BAD);
    expect(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 16), 6, 100, 0x0010,
           MOAT_LINK_RX_BAD);
    ck_assert_uint_eq(bad_meta(), 13);
}
END_TEST

START_TEST(vnet_malformed_frames_under_a_header)
{
    struct virtio_net_hdr vh = VH(.flags = NEEDS, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                                  .gso_size = 1448, .csum_start = 34, .csum_offset = 16);
    uint32_t flags;
    size_t len;
    /* A GSO frame must be exactly one datagram: trailing bytes are refused. */
    size_t n = vframe(&vh, 6, 3000, 0);
    ck_assert_int_eq(deliver(n + 7, &flags, &len), 0);
    ck_assert_uint_eq(flags, MOAT_LINK_RX_BAD);
    /* ... and so is an IP total length longer than the frame. */
    n = vframe(&vh, 6, 3000, 0);
    ck_assert_int_eq(deliver(n - 100, &flags, &len), 0);
    ck_assert_uint_eq(flags, MOAT_LINK_RX_BAD);
    /* NEEDS_CSUM on an ARP frame. */
    n = vframe(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 16), 6, 100, 0);
    buf[sizeof vh + 13] = 0x06;
    ck_assert_int_eq(deliver(n, &flags, &len), 0);
    ck_assert_uint_eq(flags, MOAT_LINK_RX_BAD);
    /* Not IPv4 inside, or a header length below 20. */
    n = vframe(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 16), 6, 100, 0);
    buf[sizeof vh + 14] = 0x65;
    ck_assert_int_eq(deliver(n, &flags, &len), 0);
    ck_assert_uint_eq(flags, MOAT_LINK_RX_BAD);
    n = vframe(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 16), 6, 100, 0);
    buf[sizeof vh + 14] = 0x44;
    ck_assert_int_eq(deliver(n, &flags, &len), 0);
    ck_assert_uint_eq(flags, MOAT_LINK_RX_BAD);
    /* A read shorter than the header: nothing is handed up, but counted. */
    ck_assert_int_eq(deliver(3, &flags, &len), MOAT_E_AGAIN);
    ck_assert_uint_eq(bad_meta(), 6);
    /* A good frame after all that still gets through. */
    n = vframe(&vh, 6, 3000, 0);
    ck_assert_int_eq(deliver(n, &flags, &len), 0);
    ck_assert_uint_eq(flags, MOAT_LINK_RX_CSUM_OK);
    ck_assert_uint_eq(len, n - sizeof vh);
}
END_TEST

/* The link domain's way in: the frame read straight into its buffer, the
 * header in front of it, flags as rx_acquire would give them. */
START_TEST(vnet_rx_into_a_callers_buffer)
{
    static uint8_t into[80000];
    size_t skip = 99, len = 0;
    size_t n = vframe(&VH(.flags = NEEDS, .csum_start = 34, .csum_offset = 16), 6, 500, 0);
    ck_assert_int_eq(write(peer, buf, n), (ssize_t)n);
    ck_assert_int_eq(linux_tap_rx_into(tap, into, sizeof into, &skip, &len), 0);
    ck_assert_uint_eq(skip, sizeof(struct virtio_net_hdr));
    ck_assert_uint_eq(len, n - skip);
    ck_assert_mem_eq(into + skip, buf + skip, len);
    ck_assert_uint_eq(tap->rx_flags, MOAT_LINK_RX_CSUM_OK);
    ck_assert_int_eq(linux_tap_rx_into(tap, into, sizeof into, &skip, &len), MOAT_E_AGAIN);
    struct moat_link other = { 0 };
    ck_assert_int_eq(linux_tap_rx_into(&other, into, sizeof into, &skip, &len), MOAT_E_INVAL);
}
END_TEST

/* Full-size TCP segment @p k of one connection (ACK, 1448 bytes of
 * payload, consecutive sequence numbers) at @p f; returns its length. */
static size_t tx_seg(uint8_t *f, unsigned k)
{
    size_t len = 14 + 20 + 20 + 1448;
    memset(f, 0, len);
    memset(f, 0x02, 12);
    wr16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    wr16(ip + 2, 20 + 20 + 1448);
    ip[8] = 64;
    ip[9] = 6;
    uint8_t *th = ip + 20;
    wr16(th, 80);
    wr16(th + 2, 4000);
    uint32_t seq = 1000u + k * 1448u;
    th[4] = (uint8_t)(seq >> 24);
    th[5] = (uint8_t)(seq >> 16);
    th[6] = (uint8_t)(seq >> 8);
    th[7] = (uint8_t)seq;
    th[12] = 5u << 4;
    th[13] = 0x10;      /* ACK */
    wr16(th + 14, 65535);
    memset(th + 20, (int)('a' + k), 1448);
    return len;
}

/* One message from the "device": its length, the header in @p vh. */
static ssize_t device_read(struct virtio_net_hdr *vh)
{
    ssize_t n = read(peer, buf, sizeof buf);
    if (n >= (ssize_t)sizeof *vh)
        memcpy(vh, buf, sizeof *vh);
    return n;
}

/* What a link domain writes through linux_tap_tx_at leaves as it came:
 * two segments that the TAP's own tx_commit joins into one GSO frame
 * (checked first, so the case can tell the two apart) go out as two
 * plain frames with an all-zero header. The link domain keeps no TCP
 * state (docs/DESIGN.md, section 3, rule 7). */
START_TEST(vnet_tx_at_joins_nothing)
{
    static uint8_t room[2][sizeof(struct virtio_net_hdr) + 1600];
    struct virtio_net_hdr vh;
    const size_t vl = sizeof vh;
    uint8_t *b;
    size_t cap;

    /* The TAP link driven directly (the thread backend): joined. */
    for (unsigned k = 0; k < 2; k++) {
        ck_assert_int_eq(tap->ops->tx_acquire(tap, &b, &cap), 0);
        ck_assert_int_eq(tap->ops->tx_commit(tap, tx_seg(b, k)), 0);
    }
    ck_assert_int_eq(tap->ops->flush(tap), 0);
    ck_assert_int_eq(device_read(&vh), (ssize_t)(vl + 14 + 20 + 20 + 2 * 1448));
    ck_assert_uint_eq(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    ck_assert_uint_eq(vh.gso_size, 1448);

    /* The same two through linux_tap_tx_at: written one by one, as built. */
    for (unsigned k = 0; k < 2; k++) {
        size_t len = tx_seg(room[k] + vl, k);
        memset(room[k], 0x5a, vl);      /* whatever the region held there */
        ck_assert_int_eq(linux_tap_tx_at(tap, room[k] + vl, vl, len, 0), 0);
    }
    for (unsigned k = 0; k < 2; k++) {
        ck_assert_int_eq(device_read(&vh), (ssize_t)(vl + 14 + 20 + 20 + 1448));
        ck_assert_mem_eq(&vh, &(struct virtio_net_hdr){ 0 }, vl);
        ck_assert_mem_eq(buf + vl, room[k] + vl, 14 + 20 + 20 + 1448);
    }
    ck_assert_int_eq(read(peer, buf, sizeof buf), -1);  /* nothing else */

    /* A GSO frame is still checked: one whose IP length lies is refused. */
    size_t len = tx_seg(room[0] + vl, 0);
    wr16(room[0] + vl + 14 + 2, 9000);
    ck_assert_int_eq(linux_tap_tx_at(tap, room[0] + vl, vl, len, 1448), MOAT_E_IO);
    /* Not enough room for the header: the caller must copy. */
    ck_assert_int_eq(linux_tap_tx_at(tap, room[0] + vl, vl - 1, len, 0), MOAT_E_INVAL);
}
END_TEST

static Suite *tap_vnet_suite(void)
{
    Suite *s = suite_create("tap_vnet");
    TCase *tc = tcase_create("rx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, vnet_valid_headers);
    tcase_add_test(tc, vnet_malformed_headers_are_counted);
    tcase_add_test(tc, vnet_ipv6_partial_checksum);
    tcase_add_test(tc, vnet_malformed_frames_under_a_header);
    tcase_add_test(tc, vnet_rx_into_a_callers_buffer);
    tcase_add_test(tc, vnet_tx_at_joins_nothing);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(tap_vnet_suite)
