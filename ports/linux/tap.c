/* SPDX-License-Identifier: MIT */
/*
 * The TAP link driver: an existing Linux TAP interface as a struct
 * moat_link. One read() per received frame into a private buffer, one
 * write() per sent frame from a private buffer; the fd is non-blocking
 * and is what wait_fd() gives the caller to poll on.
 *
 * Offloads (on by default where the device supports them; off with
 * moat_tap_open_opts(.., 0, ..), the examples' --no-offload, and
 * MOAT_TAP_OFFLOAD=0|1 in the environment of the process that opens the
 * TAP overrides either way): the device is opened with IFF_VNET_HDR and
 * every frame carries a virtio-net header.
 *
 * Transmit: consecutive full-size TCP segments of one connection that the
 * core sends in one batch are written as ONE GSO frame of up to 64 KiB
 * (gso_type TCPV4, checksum left to the kernel). The kernel then runs its
 * receive path once per 64 KiB instead of once per segment: on a TAP that
 * path, run inside our write(), is most of the cost of a frame
 * (docs/performance.md). Frames are held only until the end of the
 * caller's batch (flush()). Where this joining runs: in the thread backend
 * the TAP link is driven by the net domain itself (tx_commit here); in
 * the factored backends the net side of the link ring joins segments
 * (link/linkring_net.c) and the link domain writes each frame as it comes
 * through linux_tap_tx_at, which joins nothing, so moat-linkd holds no
 * TCP state (docs/DESIGN.md, "Where segments are joined").
 *
 * Receive: TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4), so the kernel hands us
 * TCP segments of up to 64 KiB whole (one read() instead of 45) and
 * leaves checksums of what it sends to the "device" (NEEDS_CSUM). We
 * validate every header (tap_vnet_rx: known flags and GSO type only, and
 * csum_start/csum_offset must name the TCP or UDP checksum field of an
 * unfragmented IPv4 datagram, or of an IPv6 datagram without extension
 * headers, inside the frame; a GSO frame must be exactly
 * one TCP datagram). A valid NEEDS_CSUM or DATA_VALID header makes the
 * frame MOAT_LINK_RX_CSUM_OK: we do NOT complete the partial checksum
 * (the bytes were made by the host kernel, which is the other end of
 * this device, as Linux itself trusts CHECKSUM_PARTIAL on local
 * delivery); the core skips the TCP/UDP checksum for such frames and
 * still checks the IPv4 header's. A header that does not validate makes
 * the frame MOAT_LINK_RX_BAD: counted here (rx_bad_meta) and as the
 * core's LINK_RX_BAD drop, never parsed.
 *
 * Owns: moat_tap_open, moat_tap_link. Does not create or configure
 * interfaces (that is the user's `ip tuntap add`, or the test scripts),
 * and never blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/hdr.h"
#include "gso.h"
#include "linux_link.h"

/* Offload mode: the virtio-net header in front of every frame. */
#define TAP_VH       sizeof(struct virtio_net_hdr)

/* The largest IPv4 datagram behind an Ethernet (+ VLAN tag) header, and
 * its virtio-net header, still fit, so read() never truncates: a receive
 * offload frame or an oversize frame reaches the core whole and is judged
 * there. */
#define TAP_RX_BUF (TAP_VH + MOAT_TAP_FRAME_MAX)

struct tap_link {
    struct moat_link link;
    int fd;
    size_t tx_cap;
    int tx_out;                 /* a tx buffer is handed out */
    struct moat_link_counters cnt;
    uint8_t *rx_buf;
    uint8_t *tx_buf;
    /* Offload mode only (vnet != 0): the GSO frame being built (gso.c).
     * gso_buf holds the virtio-net header, then the frame (gso.frame). */
    int vnet;
    uint8_t *gso_buf;
    struct moat_gso gso;
};

/* The caller's choice, unless MOAT_TAP_OFFLOAD=0 or =1 overrides it. */
static int tap_offload_wanted(int want)
{
    const char *e = getenv("MOAT_TAP_OFFLOAD");
    if (e != NULL && strcmp(e, "0") == 0)
        return 0;
    if (e != NULL && strcmp(e, "1") == 0)
        return 1;
    return want;
}

/* Open /dev/net/tun and attach it to @p ifname, with the virtio-net header
 * if @p vnet and the driver offers it. Returns 0 or a MOAT_E_* code. */
static int tap_attach(const char *ifname, int vnet, int *fd_out)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == EPERM || errno == EACCES)
            return MOAT_E_PERM;
        if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
            return MOAT_E_NODEV;
        return MOAT_E_IO;
    }
    unsigned features = 0;
    if (vnet && (ioctl(fd, TUNGETFEATURES, &features) < 0 || !(features & IFF_VNET_HDR)))
        vnet = 0;   /* an old or unusual tun driver: plain frames */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (vnet)
        ifr.ifr_flags |= IFF_VNET_HDR;
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        switch (e) {
        case EPERM:
        case EACCES:
            return MOAT_E_PERM;
        case EINVAL:   /* exists but is a TUN, or other flags */
            return MOAT_E_INVAL;
        case EBUSY:    /* another process holds this (single-queue) TAP */
            return MOAT_E_ADDRINUSE;
        case ENODEV:
            return MOAT_E_NODEV;
        default:
            return MOAT_E_IO;
        }
    }
    *fd_out = fd;
    return 0;
}

int moat_tap_open(const char *ifname, int *fd_out)
{
    return moat_tap_open_opts(ifname, 1, fd_out);
}

int moat_tap_open_opts(const char *ifname, int offload, int *fd_out)
{
    if (ifname == NULL || fd_out == NULL || ifname[0] == '\0')
        return MOAT_E_INVAL;
    if (strlen(ifname) >= IFNAMSIZ)
        return MOAT_E_INVAL;
    /* TUNSETIFF on a name that does not exist would create a fresh,
     * unconfigured interface that vanishes with the fd: refuse instead,
     * so a typo is reported rather than silently "working". */
    if (if_nametoindex(ifname) == 0)
        return MOAT_E_NODEV;

    int fd = -1;
    int r = tap_attach(ifname, tap_offload_wanted(offload), &fd);
    if (r != 0)
        return r;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR)) {
        /* Our header size; then receive offloads: checksums left to us
         * and TCP segments of up to 64 KiB. A kernel that refuses them
         * still gets transmit offload (the header alone does that). */
        int sz = (int)TAP_VH;
        if (ioctl(fd, TUNSETVNETHDRSZ, &sz) == 0) {
            if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0)
                (void)ioctl(fd, TUNSETOFFLOAD, 0ul);
            *fd_out = fd;
            return 0;
        }
        /* The header is there but its size cannot be set: fall back to
         * plain frames rather than guess at the kernel's layout. */
        close(fd);
        r = tap_attach(ifname, 0, &fd);
        if (r != 0)
            return r;
    }
    /* Plain frames: the device must not offer offloads either (a TAP
     * keeps its features across opens; an earlier offload user may have
     * left TSO on, and GSO frames without a header would be garbage to
     * us). A kernel that cannot do offloads has none on to begin with. */
    (void)ioctl(fd, TUNSETOFFLOAD, 0ul);
    *fd_out = fd;
    return 0;
}


/*
 * Judge the virtio-net header @p vh the kernel put in front of the
 * @p len-byte frame @p f (the only metadata that comes with a received
 * frame). Returns the frame's MOAT_LINK_RX_* flags: 0 (nothing known: the
 * core checks everything), CSUM_OK, or BAD (not a header this device may
 * send us with the features we asked for). hdr_len and gso_size are
 * hints for a device that segments; we take the frame whole and need
 * neither beyond gso_size != 0.
 */
static uint32_t tap_vnet_rx(const struct virtio_net_hdr *vh, const uint8_t *f, size_t len)
{
    const unsigned known = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
    unsigned gso = vh->gso_type & (unsigned)~VIRTIO_NET_HDR_GSO_ECN;

    if ((vh->flags & ~known) != 0)
        return MOAT_LINK_RX_BAD;
    if (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4)
        return MOAT_LINK_RX_BAD;        /* we asked for TSO4 only */
    if (gso == VIRTIO_NET_HDR_GSO_NONE && (vh->gso_type & VIRTIO_NET_HDR_GSO_ECN))
        return MOAT_LINK_RX_BAD;
    if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
        if (gso != VIRTIO_NET_HDR_GSO_NONE)
            return MOAT_LINK_RX_BAD;    /* a GSO frame always leaves the sum to us */
        return (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID) ? MOAT_LINK_RX_CSUM_OK : 0;
    }
    /* NEEDS_CSUM: the sum field must be the TCP or UDP one of an
     * unfragmented IPv4 datagram that lies inside the frame, or (without
     * GSO) of an IPv6 datagram whose fixed header names TCP or UDP
     * directly (no extension headers; the kernel sends UDP over IPv6 to
     * the device this way). */
    if (len >= 14u + 40u && rd16(f + 12) == 0x86ddu && gso == VIRTIO_NET_HDR_GSO_NONE) {
        const uint8_t *ip6 = f + 14;
        size_t plen = rd16(ip6 + 4);
        unsigned want = ip6[6] == 6 ? 16u : ip6[6] == 17 ? 6u : 0u;
        if ((ip6[0] >> 4) != 6 || 14u + 40u + plen > len || want == 0 ||
            vh->csum_start != 14u + 40u || vh->csum_offset != want || want + 2u > plen)
            return MOAT_LINK_RX_BAD;
        return MOAT_LINK_RX_CSUM_OK;
    }
    struct hdr_eth e;
    struct hdr_ip4 ip;
    struct hdr_tcp th;
    if (hdr_eth_parse(f, len, &e) != HDR_OK || e.type != 0x0800u ||
        hdr_ip4_parse(f + 14, len - 14u, HDR_IP4_NO_CSUM, &ip) != HDR_OK ||
        hdr_ip4_is_frag(&ip))
        return MOAT_LINK_RX_BAD;
    size_t hl = ip.hlen, tot = ip.tot_len;
    unsigned want = ip.proto == 6 ? 16u : ip.proto == 17 ? 6u : 0u;
    if (want == 0 || vh->csum_start != 14u + hl || vh->csum_offset != want ||
        hl + want + 2u > tot)
        return MOAT_LINK_RX_BAD;
    if (gso == VIRTIO_NET_HDR_GSO_TCPV4) {
        /* One TCP datagram filling the frame exactly, with a whole header. */
        if (ip.proto != 6 || vh->gso_size == 0 || 14u + tot != len ||
            hdr_tcp_parse(f + 14 + hl, tot - hl, &th) != HDR_OK)
            return MOAT_LINK_RX_BAD;
    }
    return MOAT_LINK_RX_CSUM_OK;
}

/* Read the next frame into @p buf (@p cap bytes): the frame starts at
 * buf + *skip (the virtio-net header before it in offload mode), its flags
 * are left in t->link.rx_flags. Returns 0, MOAT_E_AGAIN or MOAT_E_IO. */
static int tap_read(struct tap_link *t, uint8_t *buf, size_t cap, size_t *skip, size_t *len)
{
    for (;;) {
        ssize_t n = read(t->fd, buf, cap);
        if (n > 0 && t->vnet) {
            if ((size_t)n < TAP_VH) {
                t->cnt.rx_bad_meta++;   /* not even a header: nothing to hand up */
                continue;
            }
            struct virtio_net_hdr vh;
            memcpy(&vh, buf, TAP_VH);
            *skip = TAP_VH;
            *len = (size_t)n - TAP_VH;
            t->link.rx_flags = tap_vnet_rx(&vh, buf + TAP_VH, *len);
            if (t->link.rx_flags & MOAT_LINK_RX_BAD)
                t->cnt.rx_bad_meta++;   /* the core drops it too (LINK_RX_BAD) */
            t->cnt.rx_frames++;
            t->cnt.rx_bytes += *len;
            return 0;
        }
        if (n > 0) {
            /* Runts (< 14 bytes) are handed up too: the core counts them. */
            t->cnt.rx_frames++;
            t->cnt.rx_bytes += (uint64_t)n;
            t->link.rx_flags = 0;
            *skip = 0;
            *len = (size_t)n;
            return 0;
        }
        if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
            return MOAT_E_AGAIN;
        if (errno == EINTR)
            continue;
        /* EIO/EBADFD: the interface went away or down. Not a frame; the
         * caller treats any nonzero as "nothing now". */
        t->cnt.rx_errors++;
        return MOAT_E_IO;
    }
}

static int tap_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    struct tap_link *t = (struct tap_link *)l;
    size_t skip = 0;
    int r = tap_read(t, t->rx_buf, TAP_RX_BUF, &skip, len);
    if (r == 0)
        *frame = t->rx_buf + skip;
    return r;
}

static void tap_rx_release(struct moat_link *l)
{
    (void)l;   /* the rx buffer is reused by the next read() */
}

static int tap_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct tap_link *t = (struct tap_link *)l;
    /* One buffer, one outstanding frame: a second acquire before commit
     * is a caller bug; hand out the same buffer rather than fail, the
     * earlier contents are simply abandoned. */
    t->tx_out = 1;
    *buf = t->tx_buf;
    *cap = t->tx_cap;
    return 0;
}

/* One write() of @p len bytes (plain write, not writev: the confined
 * link domain's seccomp policy allows exactly read and write on the
 * device); counts the outcome. Returns 0, MOAT_E_AGAIN (device queue
 * full: dropped, counted in tx_full) or MOAT_E_IO. */
static int tap_write(struct tap_link *t, const uint8_t *buf, size_t len, size_t frame_bytes)
{
    for (;;) {
        ssize_t n = write(t->fd, buf, len);
        if (n == (ssize_t)len) {
            t->cnt.tx_frames++;
            t->cnt.tx_bytes += frame_bytes;
            return 0;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            t->cnt.tx_full++;
            return MOAT_E_AGAIN;
        }
        /* A short write cannot happen on a TAP (a frame is one write);
         * treat it like any other failure. */
        t->cnt.tx_errors++;
        return MOAT_E_IO;
    }
}

/* The virtio-net header of a GSO frame of @p hlen header bytes cut into
 * @p gso_size-byte segments, checksum left to the kernel. */
static void tap_vnet_gso_hdr(struct virtio_net_hdr *vh, size_t hlen, uint16_t gso_size)
{
    memset(vh, 0, TAP_VH);
    vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    vh->hdr_len = (uint16_t)hlen;   /* host order: legacy header */
    vh->gso_size = gso_size;
    vh->csum_start = 14u + 20u;
    vh->csum_offset = 16u;
}

/* Write the pending GSO frame (if any). One segment goes out as it was
 * built; several go out as a GSO frame whose headers the kernel copies to
 * every segment it makes, with the checksum left to it. */
static int tap_gso_flush(struct tap_link *t)
{
    struct virtio_net_hdr *vh = (struct virtio_net_hdr *)t->gso_buf;
    size_t hlen = t->gso.hlen;
    uint16_t gso_size;
    size_t len = moat_gso_finish(&t->gso, &gso_size);

    if (len == 0)
        return 0;
    if (gso_size)
        tap_vnet_gso_hdr(vh, hlen, gso_size);
    else
        memset(vh, 0, TAP_VH);
    return tap_write(t, t->gso_buf, TAP_VH + len, len);
}

static int tap_flush(struct moat_link *l)
{
    struct tap_link *t = (struct tap_link *)l;
    return t->vnet ? tap_gso_flush(t) : 0;
}

/* Offload mode: append to the GSO frame, or end it and start another, or
 * send a frame that cannot be part of one (after the pending frame, so
 * the order on the wire is the order of the commits). */
static int tap_commit_vnet(struct tap_link *t, size_t len)
{
    const uint8_t *f = t->tx_buf;
    struct moat_gso_seg sg;
    int cand = len <= 14u + MOAT_GSO_IP_MAX && moat_gso_parse(f, len, &sg);

    if (cand && moat_gso_append(&t->gso, f, &sg))
        return 0;
    int r = tap_gso_flush(t);
    if (r != 0)
        return r;   /* the device refused the pending frame: take nothing more now */
    if (cand) {
        moat_gso_start(&t->gso, f, len, &sg);
        return 0;
    }
    /* A plain frame: an all-zero header in the headroom before tx_buf. */
    memset(t->tx_buf - TAP_VH, 0, TAP_VH);
    return tap_write(t, t->tx_buf - TAP_VH, TAP_VH + len, len);
}

/*
 * Returns 0 (sent, or held for the batch's GSO frame), MOAT_E_AGAIN (the
 * device queue was full: the frame was dropped and counted in tx_full,
 * as a NIC would on overflow) or MOAT_E_IO (write failed: counted in
 * tx_errors). The buffer is given back in every case.
 */
static int tap_tx_commit(struct moat_link *l, size_t len)
{
    struct tap_link *t = (struct tap_link *)l;
    if (!t->tx_out)
        return MOAT_E_INVAL;
    t->tx_out = 0;
    if (len == 0)
        return 0;
    if (len > t->tx_cap) {
        t->cnt.tx_errors++;
        return MOAT_E_IO;
    }
    if (t->vnet)
        return tap_commit_vnet(t, len);
    return tap_write(t, t->tx_buf, len, len);
}

/*
 * Offload mode: send the acquired buffer's @p len bytes as one GSO frame
 * of @p gso_size-byte segments, finished elsewhere (moat_gso_finish in the
 * net domain of a factored backend; the link domain writes it whole).
 * After our own pending frame, so the order on the wire is the order of
 * the commits. Returns as tx_commit; MOAT_E_IO (counted in tx_errors) for
 * a frame that is not a well-formed TCP/IPv4 GSO frame or without offload.
 */
static int tap_tx_commit_gso(struct moat_link *l, size_t len, uint16_t gso_size)
{
    struct tap_link *t = (struct tap_link *)l;
    if (!t->tx_out)
        return MOAT_E_INVAL;
    t->tx_out = 0;
    size_t hlen = len <= t->tx_cap ? moat_gso_check(t->tx_buf, len, gso_size) : 0;
    if (!t->vnet || hlen == 0) {
        t->cnt.tx_errors++;
        return MOAT_E_IO;
    }
    int r = tap_gso_flush(t);
    if (r != 0)
        return r;
    tap_vnet_gso_hdr((struct virtio_net_hdr *)(t->tx_buf - TAP_VH), hlen, gso_size);
    return tap_write(t, t->tx_buf - TAP_VH, TAP_VH + len, len);
}

static int tap_wait_fd(struct moat_link *l)
{
    return ((struct tap_link *)l)->fd;
}

static void tap_close(struct moat_link *l)
{
    struct tap_link *t = (struct tap_link *)l;
    if (t == NULL)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t->rx_buf);
    if (t->tx_buf)
        free(t->tx_buf - TAP_VH);
    free(t->gso_buf);
    free(t);
}

static const struct moat_link_ops tap_ops = {
    .rx_acquire = tap_rx_acquire,
    .rx_release = tap_rx_release,
    .tx_acquire = tap_tx_acquire,
    .tx_commit = tap_tx_commit,
    .flush = tap_flush,     /* offload mode: send the batch's GSO frame */
    .wait_fd = tap_wait_fd,
    .next_due_us = NULL,
    .arm = NULL,            /* the fd is level-triggered: nothing to arm */
    .close = tap_close,
    .tx_commit_gso = tap_tx_commit_gso,
};

static int tap_link_make(int fd, uint16_t mtu, int vnet, struct moat_link **out);

int moat_tap_offloaded(int fd)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    return fd >= 0 && ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR);
}

int moat_tap_link(int fd, uint16_t mtu, struct moat_link **out)
{
    /* Offload mode is what moat_tap_open chose; ask the device (this runs
     * before a factored link domain confines itself). */
    return tap_link_make(fd, mtu, moat_tap_offloaded(fd), out);
}

int linux_tap_link_vnet(int fd, uint16_t mtu, struct moat_link **out)
{
    return tap_link_make(fd, mtu, 1, out);
}

static int tap_link_make(int fd, uint16_t mtu, int vnet, struct moat_link **out)
{
    if (out == NULL) {
        if (fd >= 0)
            close(fd);
        return MOAT_E_INVAL;
    }
    *out = NULL;
    struct tap_link *t = calloc(1, sizeof *t);
    if (t != NULL) {
        t->rx_buf = malloc(TAP_RX_BUF);
        /* Offload mode takes whole GSO frames (tx_commit_gso) too. */
        t->tx_cap = vnet ? 14u + MOAT_GSO_IP_MAX : (size_t)(mtu ? mtu : 1500) + 14u;
        /* Headroom for the virtio-net header of offload mode. */
        uint8_t *b = malloc(TAP_VH + t->tx_cap);
        t->tx_buf = b ? b + TAP_VH : NULL;
    }
    if (t == NULL || t->rx_buf == NULL || t->tx_buf == NULL) {
        /* Takes fd even on failure (ownership moves unconditionally).
         * Whichever buffer did get allocated is freed with the struct:
         * tap_close frees rx_buf, tx_buf (NULL-safe) and gso_buf; its fd is
         * marked unset so the caller's fd is closed once, below. */
        if (t != NULL) {
            t->fd = -1;
            tap_close(&t->link);
        }
        if (fd >= 0)
            close(fd);
        return MOAT_E_NOMEM;
    }
    t->link.ops = &tap_ops;
    t->link.mtu = mtu ? mtu : 1500;
    t->fd = fd;
    if (vnet) {
        t->gso_buf = malloc(TAP_VH + 14u + MOAT_GSO_IP_MAX);
        t->gso.frame = t->gso_buf ? t->gso_buf + TAP_VH : NULL;
        if (t->gso_buf == NULL) {
            tap_close(&t->link);
            return MOAT_E_NOMEM;
        }
        t->vnet = 1;
    }
    *out = &t->link;
    return 0;
}

int linux_tap_rx_into(struct moat_link *l, uint8_t *buf, size_t cap, size_t *skip, size_t *len)
{
    if (l == NULL || l->ops != &tap_ops)
        return MOAT_E_INVAL;
    return tap_read((struct tap_link *)l, buf, cap, skip, len);
}

int linux_tap_tx_at(struct moat_link *l, uint8_t *frame, size_t room, size_t len,
                    uint16_t gso_size)
{
    if (l == NULL || l->ops != &tap_ops || !((struct tap_link *)l)->vnet || room < TAP_VH)
        return MOAT_E_INVAL;
    struct tap_link *t = (struct tap_link *)l;
    size_t hlen = 0;
    if (gso_size) {
        /* The same check as tap_tx_commit_gso. In a link domain the bytes
         * are in memory the net domain shares: if it rewrites them between
         * this check and the write() below, the kernel receives a frame
         * that does not match its header, which it must survive from any
         * TAP writer (it re-validates GSO frames from a TAP,
         * SKB_GSO_DODGY); the net domain could spoil only its own
         * outgoing frame. */
        hlen = moat_gso_check(frame, len, gso_size);
        if (hlen == 0) {
            t->cnt.tx_errors++;
            return MOAT_E_IO;
        }
    } else if (len == 0 || len > t->tx_cap) {
        t->cnt.tx_errors++;
        return MOAT_E_IO;
    }
    /* Whatever this link joined itself goes first (nothing, when the link
     * domain sends only through here). */
    int r = tap_gso_flush(t);
    if (r != 0)
        return r;
    if (gso_size)
        tap_vnet_gso_hdr((struct virtio_net_hdr *)(frame - TAP_VH), hlen, gso_size);
    else
        memset(frame - TAP_VH, 0, TAP_VH);      /* a plain frame, as built */
    return tap_write(t, frame - TAP_VH, TAP_VH + len, len);
}

int linux_tap_counters(struct moat_link *l, struct moat_link_counters *out)
{
    if (l == NULL || l->ops != &tap_ops)
        return MOAT_E_INVAL;
    *out = ((struct tap_link *)l)->cnt;
    return 0;
}
