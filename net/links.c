/* SPDX-License-Identifier: MIT */
/*
 * Link construction for the hosted backends: one link per configured
 * interface, from the Linux port (TAP, wire, pcap) or made here (NONE,
 * and the borrowing wrapper for CUSTOM). Holds no protocol logic and no
 * device code of its own beyond the null sink.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/links.h"
#include "ports/linux/linux_port.h"

/* ---- the null link ---------------------------------------------------- */

struct null_link {
    struct moat_link link;      /* first: the ops receive &link */
    int fd;                     /* an eventfd nobody writes: nothing to wait for */
    size_t cap;
    uint8_t *buf;
};

static int null_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    (void)l;
    (void)frame;
    (void)len;
    return MOAT_E_AGAIN;
}

static void null_rx_release(struct moat_link *l) { (void)l; }

static int null_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    struct null_link *n = (struct null_link *)l;
    *buf = n->buf;
    *cap = n->cap;
    return 0;
}

static int null_tx_commit(struct moat_link *l, size_t len)
{
    (void)l;
    (void)len;
    return 0;
}

/* Giving the loop a real fd (that never polls readable) lets it sleep
 * until its next deadline instead of polling an fd-less link every ms. */
static int null_wait_fd(struct moat_link *l) { return ((struct null_link *)l)->fd; }

static void null_close(struct moat_link *l)
{
    struct null_link *n = (struct null_link *)l;
    close(n->fd);
    free(n->buf);
    free(n);
}

static const struct moat_link_ops null_ops = {
    .rx_acquire = null_rx_acquire,
    .rx_release = null_rx_release,
    .tx_acquire = null_tx_acquire,
    .tx_commit = null_tx_commit,
    .wait_fd = null_wait_fd,
    .close = null_close,
};

int links_null(uint16_t mtu, struct moat_link **out)
{
    struct null_link *n = calloc(1, sizeof(*n));
    if (!n)
        return MOAT_E_NOMEM;
    n->cap = (size_t)mtu + 14;
    n->buf = malloc(n->cap);
    n->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!n->buf || n->fd < 0) {
        int err = n->buf ? MOAT_E_IO : MOAT_E_NOMEM;
        if (n->fd >= 0)
            close(n->fd);
        free(n->buf);
        free(n);
        return err;
    }
    n->link.ops = &null_ops;
    n->link.mtu = mtu;
    *out = &n->link;
    return 0;
}

/* ---- the borrowing wrapper -------------------------------------------- */

struct borrow_link {
    struct moat_link link;
    struct moat_link *inner;
};

#define INNER(l) (((struct borrow_link *)(l))->inner)

static int borrow_rx_acquire(struct moat_link *l, const uint8_t **frame, size_t *len)
{
    return INNER(l)->ops->rx_acquire(INNER(l), frame, len);
}

static void borrow_rx_release(struct moat_link *l)
{
    INNER(l)->ops->rx_release(INNER(l));
}

static int borrow_tx_acquire(struct moat_link *l, uint8_t **buf, size_t *cap)
{
    return INNER(l)->ops->tx_acquire(INNER(l), buf, cap);
}

static int borrow_tx_commit(struct moat_link *l, size_t len)
{
    return INNER(l)->ops->tx_commit(INNER(l), len);
}

static int borrow_flush(struct moat_link *l)
{
    return INNER(l)->ops->flush ? INNER(l)->ops->flush(INNER(l)) : 0;
}

static int borrow_wait_fd(struct moat_link *l)
{
    return INNER(l)->ops->wait_fd ? INNER(l)->ops->wait_fd(INNER(l)) : -1;
}

static int64_t borrow_next_due_us(struct moat_link *l, uint64_t now_us)
{
    return INNER(l)->ops->next_due_us ? INNER(l)->ops->next_due_us(INNER(l), now_us) : -1;
}

static int borrow_arm(struct moat_link *l)
{
    return INNER(l)->ops->arm ? INNER(l)->ops->arm(INNER(l)) : 0;
}

/* The caller made the inner link and closes it itself. */
static void borrow_close(struct moat_link *l) { free(l); }

static const struct moat_link_ops borrow_ops = {
    .rx_acquire = borrow_rx_acquire,
    .rx_release = borrow_rx_release,
    .tx_acquire = borrow_tx_acquire,
    .tx_commit = borrow_tx_commit,
    .flush = borrow_flush,
    .wait_fd = borrow_wait_fd,
    .next_due_us = borrow_next_due_us,
    .arm = borrow_arm,
    .close = borrow_close,
};

int links_borrow(struct moat_link *inner, struct moat_link **out)
{
    struct borrow_link *b;

    if (!inner || !inner->ops || !inner->ops->rx_acquire || !inner->ops->rx_release ||
        !inner->ops->tx_acquire || !inner->ops->tx_commit)
        return MOAT_E_INVAL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return MOAT_E_NOMEM;
    b->inner = inner;
    b->link.ops = &borrow_ops;
    b->link.mtu = inner->mtu;
    memcpy(b->link.mac, inner->mac, sizeof(b->link.mac));
    b->link.has_mac = inner->has_mac;
    *out = &b->link;
    return 0;
}

/* ---- all interfaces --------------------------------------------------- */

void links_close_all(struct moat_link **links, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (links[i])
            links[i]->ops->close(links[i]);
        links[i] = NULL;
    }
}

int links_open_all(const struct moat_config *cfg, struct moat_link **links)
{
    if (!cfg || cfg->n_ifs == 0 || cfg->n_ifs > MOAT_MAX_IFS)
        return MOAT_E_INVAL;
    for (unsigned i = 0; i < MOAT_MAX_IFS; i++)
        links[i] = NULL;
    for (unsigned i = 0; i < cfg->n_ifs; i++) {
        const struct moat_if_config *ifc = &cfg->ifs[i];
        int r;
        switch (ifc->link) {
        case MOAT_LINK_NONE:
            r = links_null(ifc->mtu, &links[i]);
            break;
        case MOAT_LINK_CUSTOM:
            r = links_borrow(ifc->custom, &links[i]);
            break;
        case MOAT_LINK_TAP:
        case MOAT_LINK_WIRE:
            r = moat_link_from_config(ifc, &links[i]);
            break;
        default:
            r = MOAT_E_INVAL;
            break;
        }
        if (r != 0) {
            links[i] = NULL;
            links_close_all(links, i);
            return r;
        }
    }
    return 0;
}
