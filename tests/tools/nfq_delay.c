/* SPDX-License-Identifier: MIT */
/*
 * nfq_delay: hold the packets of one NFQUEUE for a while, then let them go
 * on. A stand-in for netem's delay and reorder (this test kernel has no
 * netem qdisc), used by tests/interop/test_kernel_tcp_impaired.sh:
 *
 *   iptables -A INPUT  -i TAP -p tcp -j NFQUEUE --queue-num Q --queue-bypass
 *   iptables -A OUTPUT -o TAP -p tcp -j NFQUEUE --queue-num Q --queue-bypass
 *   nfq_delay --queue Q --delay-ms 10 --reorder-pct 5 --reorder-ms 3
 *
 * Every packet gets an accept verdict at arrival + delay (+ a uniform
 * random 0..jitter, + reorder-ms for a random reorder-pct of packets).
 * The kernel keeps the packet; this program only keeps its id and due
 * time (payloads are never copied: NFQNL_COPY_META), in a min-heap by
 * due time with arrival order breaking ties, so without jitter or
 * reordering the order is kept exactly. Verdicts may be given in any
 * order: the kernel looks the packet up by its id.
 *
 * Jitter alone reorders (a packet drawn +9 ms is overtaken by the next one
 * drawn +1 ms), as netem's jitter does. With --jitter-in-order a packet is
 * never due before the one that arrived ahead of it (its due time is
 * raised to that one's): the delay varies but the order stays, like a path
 * whose queues grow and shrink. --reorder-pct still reorders on top.
 *
 * Bounds: at most --max-held packets are held (default 4096; the kernel
 * queue is sized to match); a packet beyond that is accepted at once and
 * counted as overflow, so memory stays bounded and nothing is lost by this
 * program. It exits after --max-seconds (default 300) whatever happens,
 * and on SIGTERM or SIGINT; before exiting it accepts everything it still
 * holds. Prints "ready" on stdout once the queue is bound, and one summary
 * line on stderr at exit:
 *   nfq_delay: queue=Q packets=N held_max=M overflow=O reordered=R seconds=S
 * Exit status 0, or 1 when the queue could not be set up (needs
 * CAP_NET_ADMIN in the network namespace that holds the rules).
 *
 * Does not own: loss (iptables' statistic match does that), the rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

struct held {
    uint64_t due_us;
    uint64_t order;      /* arrival number: ties keep arrival order */
    uint32_t id;         /* the kernel's packet id */
};

struct nd {
    struct nfq_q_handle *qh;
    struct held *heap;
    size_t n, cap;
    uint64_t delay_us, jitter_us, reorder_us;
    uint32_t reorder_ppm;
    uint64_t rng;
    int jitter_in_order;
    uint64_t last_due_us;   /* --jitter-in-order: the previous packet's due time */

    uint64_t arrivals, overflow, reordered, verdict_errors, max_held, recv_errors;
};

static volatile sig_atomic_t nd_stop;

static void nd_on_signal(int sig)
{
    (void)sig;
    nd_stop = 1;
}

static uint64_t nd_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* splitmix64: reproducible with --seed. */
static uint64_t nd_rand(struct nd *d)
{
    uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- min-heap by (due, order) ------------------------------------------- */

static int nd_before(const struct held *a, const struct held *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && a->order < b->order);
}

static void nd_push(struct nd *d, struct held h)
{
    size_t i = d->n++;
    d->heap[i] = h;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!nd_before(&d->heap[i], &d->heap[p]))
            break;
        struct held t = d->heap[p];
        d->heap[p] = d->heap[i];
        d->heap[i] = t;
        i = p;
    }
}

static struct held nd_pop(struct nd *d)
{
    struct held top = d->heap[0];
    d->heap[0] = d->heap[--d->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < d->n && nd_before(&d->heap[l], &d->heap[m]))
            m = l;
        if (r < d->n && nd_before(&d->heap[r], &d->heap[m]))
            m = r;
        if (m == i)
            break;
        struct held t = d->heap[m];
        d->heap[m] = d->heap[i];
        d->heap[i] = t;
        i = m;
    }
    return top;
}

static void nd_accept(struct nd *d, uint32_t id)
{
    if (nfq_set_verdict(d->qh, id, NF_ACCEPT, 0, NULL) < 0)
        d->verdict_errors++;
}

/* Give the verdict for every packet due by @p now (all of them if @p all). */
static void nd_release(struct nd *d, uint64_t now, int all)
{
    while (d->n > 0 && (all || d->heap[0].due_us <= now))
        nd_accept(d, nd_pop(d).id);
}

/* ---- the queue callback ---------------------------------------------------- */

static int nd_on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                        void *arg)
{
    struct nd *d = arg;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    (void)qh;
    (void)msg;
    if (ph == NULL)
        return 0;
    uint32_t id = ntohl(ph->packet_id);
    d->arrivals++;
    if (d->n >= d->cap) {
        /* Full: let it through now rather than grow or drop. */
        d->overflow++;
        nd_accept(d, id);
        return 0;
    }
    uint64_t due = nd_now_us() + d->delay_us;
    if (d->jitter_us)
        due += nd_rand(d) % (d->jitter_us + 1u);
    if (d->jitter_in_order) {
        if (due < d->last_due_us)
            due = d->last_due_us;
        d->last_due_us = due;
    }
    if (d->reorder_ppm && nd_rand(d) % 1000000u < d->reorder_ppm) {
        due += d->reorder_us;
        d->reordered++;
    }
    nd_push(d, (struct held){ .due_us = due, .order = d->arrivals, .id = id });
    if (d->n > d->max_held)
        d->max_held = d->n;
    return 0;
}

static void nd_usage(FILE *f)
{
    fprintf(f, "usage: nfq_delay --queue N [--delay-ms D] [--jitter-ms J [--jitter-in-order]]\n"
               "                 [--reorder-pct P --reorder-ms R] [--max-held N]\n"
               "                 [--max-seconds S] [--seed X]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "queue", required_argument, NULL, 'q' },
        { "delay-ms", required_argument, NULL, 'd' },
        { "jitter-ms", required_argument, NULL, 'j' },
        { "jitter-in-order", no_argument, NULL, 'o' },
        { "reorder-pct", required_argument, NULL, 'p' },
        { "reorder-ms", required_argument, NULL, 'r' },
        { "max-held", required_argument, NULL, 'm' },
        { "max-seconds", required_argument, NULL, 's' },
        { "seed", required_argument, NULL, 'x' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct nd d;
    long queue = -1, max_s = 300;
    double reorder_pct = 0;
    int c;

    memset(&d, 0, sizeof(d));
    d.cap = 4096;
    d.rng = 0x6e66712d64656c61ull;   /* "nfq-dela" */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'q': queue = strtol(optarg, NULL, 0); break;
        case 'd': d.delay_us = strtoull(optarg, NULL, 0) * 1000u; break;
        case 'j': d.jitter_us = strtoull(optarg, NULL, 0) * 1000u; break;
        case 'o': d.jitter_in_order = 1; break;
        case 'p': reorder_pct = strtod(optarg, NULL); break;
        case 'r': d.reorder_us = strtoull(optarg, NULL, 0) * 1000u; break;
        case 'm': d.cap = strtoul(optarg, NULL, 0); break;
        case 's': max_s = strtol(optarg, NULL, 0); break;
        case 'x': d.rng = strtoull(optarg, NULL, 0); break;
        case 'h': nd_usage(stdout); return 0;
        default: nd_usage(stderr); return 2;
        }
    }
    if (queue < 0 || queue > 65535 || d.cap < 1 || d.cap > (1u << 20) || max_s < 1 ||
        reorder_pct < 0 || reorder_pct > 100 || d.delay_us > 10000000u ||
        d.jitter_us > 10000000u || d.reorder_us > 10000000u) {
        nd_usage(stderr);
        return 2;
    }
    d.reorder_ppm = (uint32_t)(reorder_pct * 10000.0);
    d.heap = calloc(d.cap, sizeof(*d.heap));
    if (d.heap == NULL) {
        fprintf(stderr, "nfq_delay: out of memory for %zu packets\n", d.cap);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = nd_on_signal;   /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct nfq_handle *h = nfq_open();
    if (h == NULL) {
        fprintf(stderr, "nfq_delay: nfq_open: %s (needs CAP_NET_ADMIN)\n", strerror(errno));
        return 1;
    }
    d.qh = nfq_create_queue(h, (uint16_t)queue, nd_on_packet, &d);
    if (d.qh == NULL) {
        fprintf(stderr, "nfq_delay: cannot bind queue %ld: %s\n", queue, strerror(errno));
        nfq_close(h);
        return 1;
    }
    /* Metadata only: the id is all a verdict needs. The kernel queue
     * holds as many packets as we do, plus room for a burst. */
    if (nfq_set_mode(d.qh, NFQNL_COPY_META, 0) < 0 ||
        nfq_set_queue_maxlen(d.qh, (uint32_t)(d.cap + 1024u)) < 0) {
        fprintf(stderr, "nfq_delay: cannot configure queue %ld: %s\n", queue, strerror(errno));
        nfq_destroy_queue(d.qh);
        nfq_close(h);
        return 1;
    }
    /* A burst of arrivals must not overflow the netlink socket. */
    nfnl_rcvbufsiz(nfq_nfnlh(h), 8u << 20);

    int fd = nfq_fd(h);
    uint64_t start = nd_now_us(), end = start + (uint64_t)max_s * 1000000u;
    char buf[4096] __attribute__((aligned));
    printf("ready\n");
    fflush(stdout);

    while (!nd_stop) {
        uint64_t now = nd_now_us();
        if (now >= end)
            break;
        nd_release(&d, now, 0);
        /* Sleep until the next packet is due (or 100 ms, to notice the
         * deadline), waking early for arrivals. */
        uint64_t wait_us = 100000;
        if (d.n > 0)
            wait_us = d.heap[0].due_us > now ? d.heap[0].due_us - now : 0;
        if (wait_us > 100000)
            wait_us = 100000;
        struct timespec ts = { (time_t)(wait_us / 1000000u), (long)(wait_us % 1000000u) * 1000 };
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int pr = ppoll(&p, 1, &ts, NULL);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "nfq_delay: poll: %s\n", strerror(errno));
            break;
        }
        if (pr == 0)
            continue;
        /* Drain what is there (bounded), without blocking. */
        for (int k = 0; k < 256; k++) {
            ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    break;
                /* ENOBUFS: the kernel dropped messages for us; those
                 * packets are gone (counted by the kernel too). */
                d.recv_errors++;
                break;
            }
            nfq_handle_packet(h, buf, (int)n);
        }
    }
    nd_release(&d, 0, 1);
    fprintf(stderr, "nfq_delay: queue=%ld packets=%llu held_max=%llu overflow=%llu "
            "reordered=%llu verdict_errors=%llu recv_errors=%llu seconds=%.1f\n",
            queue, (unsigned long long)d.arrivals, (unsigned long long)d.max_held,
            (unsigned long long)d.overflow, (unsigned long long)d.reordered,
            (unsigned long long)d.verdict_errors, (unsigned long long)d.recv_errors,
            (double)(nd_now_us() - start) / 1e6);
    nfq_destroy_queue(d.qh);
    nfq_close(h);
    free(d.heap);
    return 0;
}
