/* SPDX-License-Identifier: MIT */
/*
 * moat-linkd: the link domain of the factored backends. For every
 * interface with a device it moves frames between the device (a TAP fd it
 * inherited, or the shared-memory wire it opens) and the link side of that
 * interface's frame rings, in batches, and sleeps on the device and its
 * bell when there is nothing to move. It keeps no protocol state: killing
 * it at any moment loses only the frames in flight.
 *
 * Does not parse frames, and does not decide anything about them: it
 * keeps no TCP state. With a TAP in offload mode the net domain has
 * already joined consecutive segments into GSO frames (linkring_net.c,
 * ports/linux/gso.c); the link domain writes each frame as it comes
 * (linux_tap_tx_at), checking only that a GSO frame's headers are the
 * ones its virtio-net header describes (moat_gso_check, a stateless look
 * at one frame), so the kernel is never handed a header that lies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "link/linkring.h"
#include "backends/process/confine.h"
#include "backends/process/domain_priv.h"
#include "ports/linux/linux_link.h"
#include "ports/linux/linux_port.h"

#define WHO "moat-linkd"
#define LINKD_BATCH       64u       /* frames per direction per round */
#define LINKD_MAX_SLEEP_MS 1000     /* backstop */
#define LINKD_FDLESS_MS   1         /* poll period of devices without a wait fd */
#define LINKD_ORPHAN_MS   1000      /* application gone: wait this long for moat-netd's RSTs */
#define LINKD_ORPHAN_POLL_MS 5      /* ... looking at the stop word this often */

struct linkd_if {
    struct linkring_dev ring;
    struct moat_link *dev;
    int active;
};

static int linkd_stopping(struct linkd_if *ifs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (ifs[i].active && atomic_load_explicit(&ifs[i].ring.v.hdr->stop, memory_order_acquire))
            return 1;
    return 0;
}

/* Device -> rings. Returns frames moved. */
static unsigned linkd_rx(struct linkd_if *f)
{
    unsigned n;
    for (n = 0; n < LINKD_BATCH; n++) {
        uint8_t *buf;
        uint32_t cap;
        const uint8_t *frame;
        size_t len;
        if (linkring_dev_rx_buf(&f->ring, &buf, &cap) != 0) {
            f->ring.cnt.no_buf++;
            break;      /* every buffer is with the net side: leave frames in the device */
        }
        /* A TAP reads straight into the ring buffer, its virtio-net
         * header in front of the frame: no copy here (a 64 KiB segment
         * with receive offload). Other devices hand a frame to copy. */
        size_t skip;
        int r = linux_tap_rx_into(f->dev, buf, cap, &skip, &len);
        if (r == 0 && skip <= LINKRING_RX_SKIP_MAX) {
            linkring_dev_rx_push_at(&f->ring, (uint32_t)skip, (uint32_t)len, f->dev->rx_flags);
            continue;
        }
        if (r != MOAT_E_INVAL)
            break;
        if (f->dev->ops->rx_acquire(f->dev, &frame, &len) != 0)
            break;
        /* The device's word about the frame (checksum vouched for, or a
         * malformed virtio-net header) crosses as the descriptor's flags. */
        uint32_t flags = f->dev->rx_flags;
        if (len > cap) {
            /* Cannot happen: the region is laid out for the device's
             * largest frame. A truncated frame is the net side's to drop,
             * and it vouches for nothing. */
            len = cap;
            flags = 0;
        }
        memcpy(buf, frame, len);
        f->dev->ops->rx_release(f->dev);
        linkring_dev_rx_push_flags(&f->ring, (uint32_t)len, flags);
    }
    return n;
}

/* Rings -> device. Returns frames moved. */
static unsigned linkd_tx(struct linkd_if *f)
{
    unsigned n;
    size_t head = (f->ring.v.lay.g.flags & LINKRING_GEOM_TX_HEAD) ? LINKRING_TX_HEAD : 0;
    for (n = 0; n < LINKD_BATCH; n++) {
        const uint8_t *frame;
        uint32_t len;
        uint8_t *buf;
        size_t cap;
        if (linkring_dev_tx_peek(&f->ring, &frame, &len) != 0)
            break;
        /* A GSO frame the net domain built (regions laid out for a TAP
         * with offloads only): the device checks it and writes it whole. */
        uint16_t gso = f->ring.cur_tx_gso;
        if (gso && f->dev->ops->tx_commit_gso == NULL) {
            linkring_dev_tx_done(&f->ring);     /* cannot happen; dropped */
            continue;
        }
        /* A TAP with offloads writes every frame from the region where it
         * lies, its virtio-net header in the room the net domain left in
         * front (LINKRING_GEOM_TX_HEAD): no copy of 64 KiB per GSO frame,
         * and no joining of segments here (the net domain joined what
         * could be joined), so the link domain keeps no TCP state. A full
         * device queue drops the frame, as tx_commit would. Other devices
         * (or a pcap wrapper) take the copy below. */
        if (head &&
            linux_tap_tx_at(f->dev, (uint8_t *)(uintptr_t)frame, head, len, gso) !=
                MOAT_E_INVAL) {
            linkring_dev_tx_done(&f->ring);
            continue;
        }
        if (f->dev->ops->tx_acquire(f->dev, &buf, &cap) != 0)
            break;      /* device has no room: keep the frame for the next round */
        if (len > cap)
            len = (uint32_t)cap;    /* a GSO frame cut short is refused by the device */
        memcpy(buf, frame, len);
        if (gso)
            f->dev->ops->tx_commit_gso(f->dev, len, gso);
        else
            f->dev->ops->tx_commit(f->dev, len);
        linkring_dev_tx_done(&f->ring);
    }
    if (n && f->dev->ops->flush)
        f->dev->ops->flush(f->dev);
    return n;
}

static uint64_t linkd_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned linkd_round(struct linkd_if *ifs, unsigned n, unsigned test_hooks)
{
    unsigned work = 0;
    for (unsigned i = 0; i < n; i++) {
        struct linkd_if *f = &ifs[i];
        if (!f->active)
            continue;
        if (test_hooks && atomic_load_explicit(&f->ring.v.hdr->try_link, memory_order_relaxed)) {
            unsigned t = atomic_exchange(&f->ring.v.hdr->try_link, 0);
            domain_attempt(WHO, t);
        }
        if (!linkring_dev_ready(&f->ring))
            continue;
        work += linkd_tx(f);
        work += linkd_rx(f);
        linkring_dev_flush(&f->ring);
    }
    return work;
}

/* Sleep on the bells, the devices and the application's pidfd (-1:
 * not watched), at most @p max_ms. Returns nonzero if the application is
 * gone. */
static int linkd_sleep(struct linkd_if *ifs, unsigned n, int parent_fd, int max_ms)
{
    struct pollfd pfd[2 * MOAT_MAX_IFS + 1];
    unsigned nfd = 0;
    int busy = 0;
    int timeout = max_ms;
    uint64_t now = linkd_now_us();

    for (unsigned i = 0; i < n; i++) {
        struct linkd_if *f = &ifs[i];
        if (!f->active)
            continue;
        if (linkring_dev_arm(&f->ring))
            busy = 1;
        pfd[nfd].fd = f->ring.v.link_bell;
        pfd[nfd].events = POLLIN;
        nfd++;
        /* Watch the device only while we have a buffer to read into;
         * otherwise a readable TAP would spin us. The net side rings our
         * bell when it gives buffers back. */
        if (f->ring.started && (f->ring.n_free_rx > 0 || f->ring.cur_rx != UINT32_MAX)) {
            if (f->dev->ops->arm && f->dev->ops->arm(f->dev))
                busy = 1;
            int fd = f->dev->ops->wait_fd ? f->dev->ops->wait_fd(f->dev) : -1;
            if (fd >= 0) {
                pfd[nfd].fd = fd;
                pfd[nfd].events = POLLIN;
                nfd++;
            } else if (timeout > LINKD_FDLESS_MS) {
                timeout = LINKD_FDLESS_MS;
            }
            if (f->dev->ops->next_due_us) {
                int64_t due = f->dev->ops->next_due_us(f->dev, now);
                if (due >= 0) {
                    /* Clamped before the conversion: a far deadline must
                     * not wrap to a negative (= infinite) poll timeout. */
                    if (due > (int64_t)LINKD_MAX_SLEEP_MS * 1000)
                        due = (int64_t)LINKD_MAX_SLEEP_MS * 1000;
                    int ms = (int)((due + 999) / 1000);
                    if (ms < timeout)
                        timeout = ms;
                }
            }
        } else if (!f->ring.started && timeout > 10) {
            timeout = 10;   /* waiting for the net side's ack; its bell wakes us */
        }
    }
    /* Last, so that the device slots above keep their order. */
    unsigned pi = nfd;
    pfd[nfd].fd = parent_fd;
    pfd[nfd].events = POLLIN;
    pfd[nfd].revents = 0;
    nfd++;
    if (busy || timeout == 0)
        return 0;
    /* ppoll, not poll: the filter allows only ppoll, without a mask. */
    struct timespec ts = { .tv_sec = timeout / 1000, .tv_nsec = (long)(timeout % 1000) * 1000000 };
    int r = ppoll(pfd, nfd, &ts, NULL);
    for (unsigned i = 0; i < n; i++)
        if (ifs[i].active)
            atomic_store_explicit(&ifs[i].ring.v.hdr->link_sleeping, 0, memory_order_relaxed);
    return r > 0 && parent_fd >= 0 && pfd[pi].revents != 0;
}

static void linkd_close_all(struct linkd_if *ifs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!ifs[i].active)
            continue;
        ifs[i].dev->ops->close(ifs[i].dev);
        linkring_dev_detach(&ifs[i].ring);
        ifs[i].active = 0;
    }
}

int main(int argc, char **argv)
{
    struct domain_boot boot;
    struct linkd_if ifs[MOAT_MAX_IFS];
    struct confine_fds fds = { .n_rd = 0, .n_wr = 0, .last_call = NULL };
    unsigned n, test_hooks;
    int r;

    (void)argv;
    memset(ifs, 0, sizeof ifs);
    int parent_fd;
    if (domain_boot_up(WHO, argc, &boot, &parent_fd) != 0)
        return DOMAIN_EXIT_SETUP;
    fds.keep[fds.n_keep++] = parent_fd;
    n = boot.cfg.n_ifs;
    test_hooks = (boot.flags & DOMAIN_BOOT_TEST_HOOKS) != 0;
    fds.wr[fds.n_wr++] = 2;
    for (unsigned i = 0; i < n; i++) {
        const struct domain_boot_if *bi = &boot.ifs[i];
        const struct moat_if_config *ifc = &boot.cfg.ifs[i];
        struct linkring_layout ll;
        void *fr;
        if (bi->kind == DOMAIN_IF_NONE)
            continue;
        r = linkring_layout(&bi->geom, &ll);
        if (r == 0 && ll.size != bi->size)
            r = MOAT_E_PEER;
        fr = r == 0 ? domain_map(DOMAIN_FD_FRAMES(i), ll.size) : NULL;
        close(DOMAIN_FD_FRAMES(i));
        if (!fr)
            r = MOAT_E_PEER;
        if (r == 0)
            r = linkring_dev_attach(&ifs[i].ring, fr, ll.size, &ll, DOMAIN_FD_NETBELL(i),
                                    DOMAIN_FD_LINKBELL(i));
        if (r == 0) {
            if (bi->kind == DOMAIN_IF_TAP)
                r = moat_tap_link(DOMAIN_FD_DEV(i), ifc->mtu, &ifs[i].dev);
            else
                r = moat_wire_link(ifc->dev, &ifc->impair, ifc->mtu, &ifs[i].dev);
        }
        if (r == 0 && ifc->pcap[0]) {
            /* The capture file is opened here, before confinement; a
             * restarted link domain starts a new file. */
            r = moat_pcap_link(ifs[i].dev, ifc->pcap, &ifs[i].dev);
        }
        if (r != 0) {
            domain_log(WHO, "interface %u: %s", i, moat_strerror(r));
            if (fr)
                atomic_store(&linkring_hdr(fr)->link_err, r);
            linkring_dev_detach(&ifs[i].ring);
            linkd_close_all(ifs, i);
            return DOMAIN_EXIT_SETUP;
        }
        ifs[i].active = 1;
        if (!fds.last_call)
            fds.last_call = &ifs[i].ring.v.hdr->last_call_link;
        fds.rd[fds.n_rd++] = DOMAIN_FD_LINKBELL(i);
        fds.wr[fds.n_wr++] = DOMAIN_FD_NETBELL(i);
    }
    /* The device links may have opened descriptors of their own (wire
     * file and FIFOs, pcap file): the confinement allows read and write on
     * every descriptor still open at this point (confine.c lists them). */
    fds.own_all = 1;
    for (unsigned i = 0; i < n; i++)
        if (ifs[i].active && boot.cfg.ifs[i].pcap[0])
            fds.writes_files = 1;
    fds.boot_flags = boot.flags;
    r = confine_domain(DOMAIN_LINK, &fds);
    if (r != 0)
        _exit(DOMAIN_EXIT_CONFINE);
    for (unsigned i = 0; i < n; i++)
        if (ifs[i].active)
            atomic_store_explicit(&ifs[i].ring.v.hdr->link_up, 1, memory_order_release);

    uint32_t spin_us = boot.cfg.spin_us;
    /* When the application dies, moat-netd resets its connections and
     * queues the RSTs for us, then sets the ring's stop word. We keep
     * moving frames (no longer watching the pidfd, which stays readable)
     * until that word, or for LINKD_ORPHAN_MS at most if moat-netd is
     * gone or stuck too. */
    uint64_t orphan_end = 0;
    while (!linkd_stopping(ifs, n) && !(orphan_end && linkd_now_us() >= orphan_end)) {
        if (linkd_round(ifs, n, test_hooks))
            continue;
        /* Short spin before sleeping (cfg.spin_us): a wake-up across CPUs
         * costs tens of microseconds, a look at the rings and one read()
         * of the device a microsecond. The spin yields between looks: on
         * a small machine the application, moat-netd and the peer also
         * want a CPU, and a spinner in their way costs more than it saves
         * (measured on 2 CPUs; docs/boundary.md). */
        uint64_t end = linkd_now_us() + spin_us;
        int found = 0;
        while (spin_us && !found && linkd_now_us() < end && !linkd_stopping(ifs, n)) {
            found = linkd_round(ifs, n, test_hooks) != 0;
            sched_yield();   /* spinning, but never in the way of a runnable task */
        }
        /* The application died without closing the stack: its pidfd
         * wakes us at once. */
        if (!found && linkd_sleep(ifs, n, orphan_end ? -1 : parent_fd,
                                  orphan_end ? LINKD_ORPHAN_POLL_MS : LINKD_MAX_SLEEP_MS))
            orphan_end = linkd_now_us() + LINKD_ORPHAN_MS * 1000u;
    }
    /* Asked to stop: send everything the net domain queued, its final
     * RSTs last, then leave. Bounded: a ring holds DOMAIN_LINK_BUFS frames
     * and a round moves up to LINKD_BATCH of them per interface. */
    for (unsigned k = 0; k < DOMAIN_LINK_BUFS / LINKD_BATCH + 2; k++)
        if (linkd_round(ifs, n, 0) == 0)
            break;
    /* Closing detaches from the wire (close, munmap: in the filter for
     * this); free() makes no system call (domain_start). */
    linkd_close_all(ifs, n);
    _exit(DOMAIN_EXIT_OK);
}
