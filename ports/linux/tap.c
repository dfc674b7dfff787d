/* SPDX-License-Identifier: MIT */
/*
 * The TAP link driver: an existing Linux TAP interface as a struct
 * moat_link. One read() per received frame into a private buffer, one
 * write() per sent frame from a private buffer; the fd is non-blocking
 * and is what wait_fd() gives the caller to poll on.
 *
 * Owns: moat_tap_open, moat_tap_link. Does not create or configure
 * interfaces (that is the user's `ip tuntap add`, or the test scripts),
 * and never blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "linux_link.h"

/* Frames larger than any MTU we allow still fit, so read() never
 * truncates: an oversize frame reaches the core whole and is judged there. */
#define TAP_RX_BUF 65550u

struct tap_link {
    struct moat_link link;
    int fd;
    size_t tx_cap;
    int tx_out;                 /* a tx buffer is handed out */
    struct moat_link_counters cnt;
    uint8_t *rx_buf;
    uint8_t *tx_buf;
};

int moat_tap_open(const char *ifname, int *fd_out)
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

    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == EPERM || errno == EACCES)
            return MOAT_E_PERM;
        if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
            return MOAT_E_NODEV;
        return MOAT_E_IO;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
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

static int tap_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    struct tap_link *t = (struct tap_link *)l;
    for (;;) {
        ssize_t n = read(t->fd, t->rx_buf, TAP_RX_BUF);
        if (n > 0) {
            /* Runts (< 14 bytes) are handed up too: the core counts them. */
            t->cnt.rx_frames++;
            t->cnt.rx_bytes += (uint64_t)n;
            *frame = t->rx_buf;
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

/*
 * Returns 0 (sent), MOAT_E_AGAIN (the device queue was full: the frame
 * was dropped and counted in tx_full, as a NIC would on overflow) or
 * MOAT_E_IO (write failed: counted in tx_errors). The buffer is given
 * back in every case.
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
    for (;;) {
        ssize_t n = write(t->fd, t->tx_buf, len);
        if (n == (ssize_t)len) {
            t->cnt.tx_frames++;
            t->cnt.tx_bytes += len;
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
    free(t->tx_buf);
    free(t);
}

static const struct moat_link_ops tap_ops = {
    .rx_acquire = tap_rx_acquire,
    .rx_release = tap_rx_release,
    .tx_acquire = tap_tx_acquire,
    .tx_commit = tap_tx_commit,
    .flush = NULL,          /* every write() is already a notification */
    .wait_fd = tap_wait_fd,
    .next_due_us = NULL,
    .arm = NULL,            /* the fd is level-triggered: nothing to arm */
    .close = tap_close,
};

int moat_tap_link(int fd, uint16_t mtu, struct moat_link **out)
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
        t->tx_cap = (size_t)(mtu ? mtu : 1500) + 14u;
        t->tx_buf = malloc(t->tx_cap);
    }
    if (t == NULL || t->rx_buf == NULL || t->tx_buf == NULL) {
        /* Takes fd even on failure (ownership moves unconditionally). */
        if (t != NULL) {
            free(t->rx_buf);
            free(t->tx_buf);
            free(t);
        }
        if (fd >= 0)
            close(fd);
        return MOAT_E_NOMEM;
    }
    t->link.ops = &tap_ops;
    t->link.mtu = mtu ? mtu : 1500;
    t->fd = fd;
    *out = &t->link;
    return 0;
}

int linux_tap_counters(struct moat_link *l, struct moat_link_counters *out)
{
    if (l == NULL || l->ops != &tap_ops)
        return MOAT_E_INVAL;
    *out = ((struct tap_link *)l)->cnt;
    return 0;
}
