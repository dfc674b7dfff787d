/* SPDX-License-Identifier: MIT */
/*
 * pcap capture around any link: every frame received (at rx_acquire) and
 * every frame sent (at tx_commit with len > 0) is appended to a classic
 * pcap file (magic 0xa1b2c3d4, version 2.4, LINKTYPE_ETHERNET, snaplen
 * 65535) that tcpdump and Wireshark read. Timestamps are the host's wall
 * clock (CLOCK_REALTIME), as capture tools expect.
 *
 * Owns: moat_pcap_link. Every other operation is forwarded to the inner
 * link unchanged. A sent frame is recorded before the inner commit (the
 * buffer is not ours afterwards), so a frame the inner link then drops
 * (ring full) still appears in the capture, as "offered for sending".
 * Records go through stdio's buffer; it is flushed at close and at most
 * one second after a record was written (checked when the next record is
 * written), so a capture of a killed program loses at most that second.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linux_link.h"

#define PCAP_SNAPLEN 65535u
#define PCAP_FLUSH_US 1000000u

struct pcap_link {
    struct moat_link link;
    struct moat_link *inner;
    FILE *f;
    uint8_t *tx_buf;        /* the inner link's buffer handed out last */
    uint64_t last_flush_us;
    uint64_t records;
    int write_failed;
};

static void pcap_put32(uint8_t *p, uint32_t v)
{
    /* The pcap magic tells readers our byte order; we write host order
     * for the whole file, which is what the magic number means. */
    memcpy(p, &v, 4);
}

static void pcap_record(struct pcap_link *p, const uint8_t *frame, size_t len)
{
    if (p->write_failed)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t caplen = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : (uint32_t)len;
    uint8_t h[16];
    pcap_put32(h + 0, (uint32_t)ts.tv_sec);
    pcap_put32(h + 4, (uint32_t)(ts.tv_nsec / 1000));
    pcap_put32(h + 8, caplen);
    pcap_put32(h + 12, (uint32_t)len);
    if (fwrite(h, sizeof h, 1, p->f) != 1 ||
        (caplen > 0 && fwrite(frame, caplen, 1, p->f) != 1)) {
        /* Disk full or similar: stop capturing, keep the link working. */
        p->write_failed = 1;
        return;
    }
    p->records++;
    uint64_t now = moat_host_now_us();
    if (now - p->last_flush_us >= PCAP_FLUSH_US) {
        fflush(p->f);
        p->last_flush_us = now;
    }
}

static int pcap_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    struct pcap_link *p = (struct pcap_link *)l;
    int rc = p->inner->ops->rx_acquire(p->inner, frame, len);
    if (rc == 0) {
        p->link.rx_flags = p->inner->rx_flags;   /* what the device said about it */
        pcap_record(p, *frame, *len);
    }
    return rc;
}

static void pcap_rx_release(struct moat_link *l)
{
    struct pcap_link *p = (struct pcap_link *)l;
    p->inner->ops->rx_release(p->inner);
}

static int pcap_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct pcap_link *p = (struct pcap_link *)l;
    int rc = p->inner->ops->tx_acquire(p->inner, buf, cap);
    p->tx_buf = rc == 0 ? *buf : NULL;
    return rc;
}

static int pcap_tx_commit(struct moat_link *l, size_t len)
{
    struct pcap_link *p = (struct pcap_link *)l;
    if (len > 0 && p->tx_buf != NULL)
        pcap_record(p, p->tx_buf, len);
    p->tx_buf = NULL;
    return p->inner->ops->tx_commit(p->inner, len);
}

static int pcap_flush(struct moat_link *l)
{
    struct pcap_link *p = (struct pcap_link *)l;
    return p->inner->ops->flush ? p->inner->ops->flush(p->inner) : 0;
}

static int pcap_wait_fd(struct moat_link *l)
{
    struct pcap_link *p = (struct pcap_link *)l;
    return p->inner->ops->wait_fd ? p->inner->ops->wait_fd(p->inner) : -1;
}

static int64_t pcap_next_due_us(struct moat_link *l, uint64_t now_us)
{
    struct pcap_link *p = (struct pcap_link *)l;
    return p->inner->ops->next_due_us ? p->inner->ops->next_due_us(p->inner, now_us) : -1;
}

static int pcap_arm(struct moat_link *l)
{
    struct pcap_link *p = (struct pcap_link *)l;
    return p->inner->ops->arm ? p->inner->ops->arm(p->inner) : 0;
}

static void pcap_close(struct moat_link *l)
{
    struct pcap_link *p = (struct pcap_link *)l;
    if (p == NULL)
        return;
    p->inner->ops->close(p->inner);
    fclose(p->f);
    free(p);
}

/* A GSO frame through to a link that takes them (the TAP with offloads,
 * in the link domain); recorded whole, as written, before segmentation. */
static int pcap_tx_commit_gso(struct moat_link *l, size_t len, uint16_t gso_size)
{
    struct pcap_link *p = (struct pcap_link *)l;
    if (p->inner->ops->tx_commit_gso == NULL) {
        pcap_tx_commit(l, 0);   /* give the buffer back: not a GSO link */
        return MOAT_E_IO;
    }
    if (len > 0 && p->tx_buf != NULL)
        pcap_record(p, p->tx_buf, len);
    p->tx_buf = NULL;
    return p->inner->ops->tx_commit_gso(p->inner, len, gso_size);
}

static const struct moat_link_ops pcap_ops = {
    .rx_acquire = pcap_rx_acquire,
    .rx_release = pcap_rx_release,
    .tx_acquire = pcap_tx_acquire,
    .tx_commit = pcap_tx_commit,
    .flush = pcap_flush,
    .wait_fd = pcap_wait_fd,
    .next_due_us = pcap_next_due_us,
    .arm = pcap_arm,
    .close = pcap_close,
    .tx_commit_gso = pcap_tx_commit_gso,
};

int moat_pcap_link(struct moat_link *inner, const char *path, struct moat_link **out)
{
    if (inner == NULL)
        return MOAT_E_INVAL;
    if (out == NULL || path == NULL || path[0] == '\0') {
        inner->ops->close(inner);   /* takes inner, even on failure */
        return MOAT_E_INVAL;
    }
    *out = NULL;
    struct pcap_link *p = calloc(1, sizeof *p);
    if (p == NULL) {
        inner->ops->close(inner);
        return MOAT_E_NOMEM;
    }
    p->f = fopen(path, "wbe");
    if (p->f == NULL) {
        free(p);
        inner->ops->close(inner);
        return MOAT_E_IO;
    }
    setvbuf(p->f, NULL, _IOFBF, 1u << 16);
    uint8_t gh[24];
    pcap_put32(gh + 0, 0xa1b2c3d4u);
    uint16_t vmaj = 2, vmin = 4;
    memcpy(gh + 4, &vmaj, 2);
    memcpy(gh + 6, &vmin, 2);
    pcap_put32(gh + 8, 0);             /* thiszone */
    pcap_put32(gh + 12, 0);            /* sigfigs */
    pcap_put32(gh + 16, PCAP_SNAPLEN);
    pcap_put32(gh + 20, 1);            /* LINKTYPE_ETHERNET */
    if (fwrite(gh, sizeof gh, 1, p->f) != 1 || fflush(p->f) != 0) {
        fclose(p->f);
        free(p);
        inner->ops->close(inner);
        return MOAT_E_IO;
    }
    p->inner = inner;
    p->last_flush_us = moat_host_now_us();
    p->link.ops = &pcap_ops;
    p->link.mtu = inner->mtu;
    memcpy(p->link.mac, inner->mac, sizeof p->link.mac);
    p->link.has_mac = inner->has_mac;
    *out = &p->link;
    return 0;
}

int linux_pcap_counters(struct moat_link *l, struct moat_link_counters *out)
{
    if (l == NULL || l->ops != &pcap_ops)
        return MOAT_E_INVAL;
    struct pcap_link *p = (struct pcap_link *)l;
    int rc = moat_linux_link_counters(p->inner, out);
    if (rc != 0)
        memset(out, 0, sizeof *out);   /* a foreign inner link: ours only */
    out->pcap_records = p->records;
    return 0;
}
