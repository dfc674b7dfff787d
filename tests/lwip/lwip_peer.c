/* SPDX-License-Identifier: MIT */
/*
 * lwIP (Debian's liblwip 2.1.3) as the remote stack of the interop test:
 * a netif of our own on one end of a moat shared-memory wire, a pump
 * thread, and small raw-API applications. See lwip_peer.h for the API.
 *
 * How the packaged library is used, and why:
 *
 *  - Options. lwIP's structures and inline macros depend on lwipopts.h, so
 *    this file must be compiled with the options the library was built
 *    with. The package ships the one it used (/usr/include/lwip/lwipopts.h,
 *    from the GNU Hurd's lwIP translator): NO_SYS 0, LWIP_TCPIP_CORE_LOCKING,
 *    MEM_LIBC_MALLOC and MEMP_MEM_MALLOC (pools come from malloc), TCP_MSS
 *    1460, TCP_WND 0xFFFF with LWIP_WND_SCALE and TCP_RCV_SCALE 1,
 *    TCP_SND_BUF = TCP_WND, LWIP_IPV6 1, no timestamps, no SACK. We include
 *    exactly that file (pkg-config's include dir) and check the values that
 *    matter with static assertions below.
 *
 *  - The TCP_MSS trap. glibc's <netinet/tcp.h> defines TCP_MSS as 512; a
 *    file that sees it instead of lwIP's 1460 sizes its buffers for 512
 *    (that is how the package's own tapif driver corrupts the heap on the
 *    first full-size frame). So: no system socket header and no lwIP
 *    socket/netconn header in this file, lwIP's own driver is not used,
 *    and received frames go into PBUF_RAM pbufs of exactly the frame's
 *    length (no assumption about pool buffer sizes at all).
 *
 *  - Threads. The library is the "OS" flavour (NO_SYS 0), but nothing
 *    forces its tcpip thread on us: we call lwip_init() and drive timers
 *    with sys_check_timeouts() from our own pump thread, raw API only,
 *    every lwIP call under one mutex of ours. sys_check_core_locking()
 *    only checks once a tcpip thread has been marked, which never happens.
 *    The one path that would need the tcpip thread, loopback output to our
 *    own address, is never taken.
 *
 *  - Symbols. moat's core has global functions named like lwIP's
 *    (tcp_output, tcp_init, tcp_input, ip4_input, ...). This file is built
 *    as a shared library of its own and the test executable hides
 *    libmoat.a's symbols (tests.cmake), so every lwIP call here and inside
 *    liblwip binds to liblwip; lwp_binding_ok() checks that at start.
 *
 * Not here: the test cases, opening the wire (test_lwip_interop.c, which
 * hands us the link), the pattern (pattern.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <dlfcn.h>

#include "moat/err.h"
#include "moat/link.h"

#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/raw.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "lwip/inet_chksum.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "netif/ethernet.h"

#include "lwip_peer.h"

/* The options this file depends on must be the package's. */
_Static_assert(TCP_MSS == 1460, "lwIP TCP_MSS must be 1460: a system header redefined it?");
_Static_assert(TCP_WND == 0xFFFF && TCP_SND_BUF == 0xFFFF, "unexpected lwipopts.h");
_Static_assert(NO_SYS == 0 && LWIP_CALLBACK_API == 1 && LWIP_WND_SCALE == 1,
               "unexpected lwipopts.h: not the one liblwip was built with");
_Static_assert(ETH_PAD_SIZE == 0, "frames are copied without padding");

#define LWP_MAX_CONNS  8
#define LWP_RX_BATCH   64
#define LWP_ECHO_RING  (256u * 1024u)   /* > TCP_WND: see echo_recv */
#define LWP_POLL_MAX_MS 20
#define LWP_MTU        1500

enum lwp_role { ROLE_NONE = 0, ROLE_SOURCE, ROLE_SINK, ROLE_ECHO };

struct lwp_conn {
    struct lwp *p;
    enum lwp_role role;
    struct tcp_pcb *pcb;      /* the connection, NULL once closed or failed */
    struct tcp_pcb *lpcb;     /* sink/echo: the listener */
    unsigned flags;
    int err;
    uint64_t seed, total, sent, acked;
    struct pattern_check chk;
    uint8_t *ring;            /* echo: bytes received, not yet written back */
    size_t r_head, r_len;
    int closing;              /* close requested; waiting for room to send FIN */
    uint64_t hold_at;         /* sink: stop crediting the window here (0: never) */
    uint64_t held;            /* bytes received but not yet given to tcp_recved */
    int resumed;
    int zw_seen;              /* the announced window has been 0 since zw_t */
    uint64_t zw_t, zw_frames; /* ...and frames_in was zw_frames then */
};

struct lwp {
    pthread_mutex_t mu;       /* every lwIP call and everything below */
    pthread_cond_t cv;        /* state of a conn or a ping changed */
    pthread_t thr;
    int thr_started;
    atomic_int stop;
    int kick_fd;              /* eventfd: wakes the pump after a call */

    struct moat_link *link;
    struct netif nif;
    int nif_added;

    struct lwp_conn conns[LWP_MAX_CONNS];
    struct udp_pcb *udp;
    struct raw_pcb *raw;

    /* ping in flight */
    uint16_t ping_id, ping_seq;
    unsigned ping_len;
    uint8_t ping_payload[1472];
    int ping_state;           /* 0 idle, 1 waiting, 2 good reply, 3 bad reply */
    uint64_t ping_t_reply;

    struct lwp_counters cnt;
};

/* lwIP keeps its state in globals: one peer per process. */
static pthread_once_t lwp_once = PTHREAD_ONCE_INIT;
static atomic_int lwp_active;

static void lwp_init_once(void)
{
    lwip_init();
}

/*
 * Is lwIP's own tcp_output what we call? Our reference goes through the
 * dynamic linker's global scope; if an executable exported moat's
 * tcp_output, we (and lwIP itself) would run moat code on lwIP pcbs.
 */
static int lwp_binding_ok(void)
{
    void *h = dlopen("liblwip.so.0", RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL)
        return 0;
    void *own = dlsym(h, "tcp_output"), *init = dlsym(h, "tcp_init");
    void *ours = dlsym(RTLD_DEFAULT, "tcp_output"), *ours_init = dlsym(RTLD_DEFAULT, "tcp_init");
    err_t (*f)(struct tcp_pcb *) = tcp_output;
    dlclose(h);
    return own != NULL && own == ours && init == ours_init && (void *)f == own;
}

static uint64_t lwp_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void lwp_ip4(ip_addr_t *a, uint32_t ip)
{
    IP_ADDR4(a, (u8_t)(ip >> 24), (u8_t)(ip >> 16), (u8_t)(ip >> 8), (u8_t)ip);
}

static void lwp_lock(struct lwp *p)
{
    pthread_mutex_lock(&p->mu);
}

/* End a call from the test's thread: push out what lwIP sent and wake the
 * pump, whose timers may have changed. */
static void lwp_unlock(struct lwp *p)
{
    if (p->link->ops->flush)
        p->link->ops->flush(p->link);
    pthread_mutex_unlock(&p->mu);
    uint64_t one = 1;
    ssize_t n = write(p->kick_fd, &one, sizeof(one));
    (void)n;   /* EAGAIN: the counter is already nonzero, the pump wakes */
}

/* ---- the netif ---------------------------------------------------------- */

static err_t lwp_linkoutput(struct netif *nif, struct pbuf *pb)
{
    struct lwp *p = nif->state;
    uint8_t *buf;
    size_t cap;

    if (p->link->ops->tx_acquire(p->link, &buf, &cap) != 0) {
        p->cnt.tx_dropped++;
        return ERR_MEM;
    }
    if (pb->tot_len > cap) {
        p->link->ops->tx_commit(p->link, 0);
        p->cnt.tx_dropped++;
        return ERR_BUF;
    }
    pbuf_copy_partial(pb, buf, pb->tot_len, 0);
    if (p->link->ops->tx_commit(p->link, pb->tot_len) != 0)
        p->cnt.tx_dropped++;   /* ring full: a loss TCP recovers from */
    else
        p->cnt.frames_out++;
    if (pb->tot_len > p->cnt.max_frame_out)
        p->cnt.max_frame_out = pb->tot_len;
    return ERR_OK;
}

static err_t lwp_netif_init(struct netif *nif)
{
    struct lwp *p = nif->state;
    nif->name[0] = 'l';
    nif->name[1] = 'w';
    nif->output = etharp_output;
    nif->output_ip6 = ethip6_output;
    nif->linkoutput = lwp_linkoutput;
    nif->mtu = p->link->mtu ? p->link->mtu : LWP_MTU;
    nif->hwaddr_len = 6;
    /* Locally administered, "LW" plus the address's last two bytes. */
    const uint8_t mac[6] = { 0x02, 0x4c, 0x57, 0x00, 0x00, 0x02 };
    memcpy(nif->hwaddr, mac, sizeof(mac));
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    return ERR_OK;
}

/* Hand up to @p max received frames to lwIP. Returns how many. */
static unsigned lwp_rx(struct lwp *p, unsigned max)
{
    unsigned n = 0;
    for (; n < max; n++) {
        const uint8_t *f;
        size_t len;
        if (p->link->ops->rx_acquire(p->link, &f, &len) != 0)
            break;
        struct pbuf *pb = NULL;
        if (len > 0 && len <= 0xffffu)
            pb = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
        if (pb != NULL)
            pbuf_take(pb, f, (u16_t)len);
        p->link->ops->rx_release(p->link);
        if (pb == NULL) {
            p->cnt.rx_nomem++;
            continue;
        }
        p->cnt.frames_in++;
        if (len > p->cnt.max_frame_in)
            p->cnt.max_frame_in = len;
        if (p->nif.input(pb, &p->nif) != ERR_OK)
            pbuf_free(pb);
    }
    return n;
}

/* ---- TCP applications --------------------------------------------------- */

static void conn_note(struct lwp_conn *c, unsigned flag)
{
    c->flags |= flag;
    pthread_cond_broadcast(&c->p->cv);
}

/* Forget the pcb: lwIP may keep it (LAST-ACK, TIME-WAIT) but must not call
 * us about it any more. */
static void conn_detach(struct lwp_conn *c)
{
    if (c->pcb) {
        tcp_arg(c->pcb, NULL);
        tcp_recv(c->pcb, NULL);
        tcp_sent(c->pcb, NULL);
        tcp_err(c->pcb, NULL);
    }
    c->pcb = NULL;
}

static void conn_close(struct lwp_conn *c)
{
    if (!c->pcb)
        return;
    struct tcp_pcb *pcb = c->pcb;
    conn_detach(c);
    if (tcp_close(pcb) != ERR_OK) {
        /* Out of memory for the FIN: lwIP leaves it to us; abort rather
         * than leak, and say so. */
        c->err = ERR_MEM;
        conn_note(c, LWP_F_ERR);
        tcp_abort(pcb);
    }
}

static void tcp_err_cb(void *arg, err_t err)
{
    struct lwp_conn *c = arg;
    if (!c)
        return;
    c->pcb = NULL;   /* already freed by lwIP */
    c->err = err;
    conn_note(c, LWP_F_ERR);
}

static void source_push(struct lwp_conn *c)
{
    uint8_t chunk[8 * TCP_MSS];
    if (!c->pcb || (c->flags & LWP_F_SENT_ALL))
        return;
    while (c->sent < c->total) {
        size_t room = tcp_sndbuf(c->pcb);
        if (room == 0 || tcp_sndqueuelen(c->pcb) + 8u >= TCP_SND_QUEUELEN)
            break;
        size_t n = sizeof(chunk);
        if (n > room)
            n = room;
        if (n > c->total - c->sent)
            n = (size_t)(c->total - c->sent);
        pattern_fill(c->seed, c->sent, chunk, n);
        u8_t fl = TCP_WRITE_FLAG_COPY;
        if (c->sent + n < c->total)
            fl |= TCP_WRITE_FLAG_MORE;
        err_t e = tcp_write(c->pcb, chunk, (u16_t)n, fl);
        if (e == ERR_MEM)
            break;
        if (e != ERR_OK) {
            c->err = e;
            conn_note(c, LWP_F_ERR);
            return;
        }
        c->sent += n;
    }
    tcp_output(c->pcb);
    if (c->sent == c->total) {
        /* FIN after the data; keep receiving to see the peer's FIN. */
        if (tcp_shutdown(c->pcb, 0, 1) == ERR_OK)
            conn_note(c, LWP_F_SENT_ALL);
    }
}

static err_t source_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct lwp_conn *c = arg;
    (void)pcb;
    if (!c)
        return ERR_OK;
    if (err != ERR_OK) {
        c->err = err;
        conn_note(c, LWP_F_ERR);
        return ERR_OK;
    }
    conn_note(c, LWP_F_CONNECTED);
    source_push(c);
    return ERR_OK;
}

static err_t source_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct lwp_conn *c = arg;
    (void)pcb;
    if (!c)
        return ERR_OK;
    c->acked += len;
    source_push(c);
    return ERR_OK;
}

/* Sink and source: count and check what arrives; at the peer's FIN, close. */
static err_t check_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *pb, err_t err)
{
    struct lwp_conn *c = arg;
    if (!c) {
        if (pb) {
            tcp_recved(pcb, pb->tot_len);
            pbuf_free(pb);
        }
        return ERR_OK;
    }
    if (pb == NULL) {
        conn_note(c, LWP_F_PEER_FIN);
        conn_close(c);
        return ERR_OK;
    }
    if (err != ERR_OK) {
        pbuf_free(pb);
        return ERR_OK;
    }
    for (struct pbuf *q = pb; q != NULL; q = q->next)
        pattern_check_feed(&c->chk, q->payload, q->len);
    if (c->hold_at != 0 && !c->resumed && c->chk.bytes >= c->hold_at)
        c->held += pb->tot_len;   /* the window closes as this grows */
    else
        tcp_recved(pcb, pb->tot_len);
    pbuf_free(pb);
    pthread_cond_broadcast(&c->p->cv);
    return ERR_OK;
}

static void echo_push(struct lwp_conn *c)
{
    if (!c->pcb)
        return;
    size_t wrote = 0;
    while (c->r_len > 0) {
        size_t n = c->r_len;
        if (n > LWP_ECHO_RING - c->r_head)
            n = LWP_ECHO_RING - c->r_head;   /* up to the ring's end */
        size_t room = tcp_sndbuf(c->pcb);
        if (n > room)
            n = room;
        if (n > 0xffffu)
            n = 0xffffu;
        if (n == 0 || tcp_sndqueuelen(c->pcb) + 8u >= TCP_SND_QUEUELEN)
            break;
        if (tcp_write(c->pcb, c->ring + c->r_head, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
            break;
        c->r_head = (c->r_head + n) % LWP_ECHO_RING;
        c->r_len -= n;
        c->sent += n;
        wrote += n;
    }
    /* The window follows what has been written back, so what arrives
     * always fits the ring (LWP_ECHO_RING > TCP_WND). */
    while (wrote > 0) {
        u16_t k = wrote > 0xffffu ? 0xffffu : (u16_t)wrote;
        tcp_recved(c->pcb, k);
        wrote -= k;
    }
    tcp_output(c->pcb);
    if (c->closing && c->r_len == 0)
        conn_close(c);
}

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *pb, err_t err)
{
    struct lwp_conn *c = arg;
    if (!c) {
        if (pb) {
            tcp_recved(pcb, pb->tot_len);
            pbuf_free(pb);
        }
        return ERR_OK;
    }
    if (pb == NULL) {
        conn_note(c, LWP_F_PEER_FIN);
        c->closing = 1;
        echo_push(c);
        return ERR_OK;
    }
    if (err != ERR_OK) {
        pbuf_free(pb);
        return ERR_OK;
    }
    if (pb->tot_len > LWP_ECHO_RING - c->r_len) {
        /* Cannot happen while the window is honoured; refuse the data
         * (lwIP offers it again later) and say so. */
        c->err = ERR_BUF;
        conn_note(c, LWP_F_ERR);
        return ERR_MEM;
    }
    for (struct pbuf *q = pb; q != NULL; q = q->next) {
        size_t tail = (c->r_head + c->r_len) % LWP_ECHO_RING;
        size_t first = q->len;
        if (first > LWP_ECHO_RING - tail)
            first = LWP_ECHO_RING - tail;
        memcpy(c->ring + tail, q->payload, first);
        memcpy(c->ring, (const uint8_t *)q->payload + first, q->len - first);
        c->r_len += q->len;
    }
    c->chk.bytes += pb->tot_len;
    pbuf_free(pb);
    echo_push(c);
    return ERR_OK;
}

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct lwp_conn *c = arg;
    (void)pcb;
    if (!c)
        return ERR_OK;
    c->acked += len;
    echo_push(c);
    return ERR_OK;
}

static err_t listener_accept(void *arg, struct tcp_pcb *npcb, err_t err)
{
    struct lwp_conn *c = arg;
    if (!c || err != ERR_OK || npcb == NULL)
        return ERR_VAL;
    if (c->pcb != NULL || (c->flags & LWP_F_CONNECTED)) {
        tcp_abort(npcb);   /* one connection per listener */
        return ERR_ABRT;
    }
    c->pcb = npcb;
    tcp_arg(npcb, c);
    tcp_err(npcb, tcp_err_cb);
    if (c->role == ROLE_ECHO) {
        tcp_nagle_disable(npcb);
        tcp_recv(npcb, echo_recv);
        tcp_sent(npcb, echo_sent);
    } else {
        tcp_recv(npcb, check_recv);
    }
    conn_note(c, LWP_F_CONNECTED);
    return ERR_OK;
}

static struct lwp_conn *conn_new(struct lwp *p, enum lwp_role role, int *h)
{
    for (int i = 0; i < LWP_MAX_CONNS; i++) {
        struct lwp_conn *c = &p->conns[i];
        if (c->role != ROLE_NONE)
            continue;
        memset(c, 0, sizeof(*c));
        c->p = p;
        c->role = role;
        pattern_check_init(&c->chk, 0);
        *h = i;
        return c;
    }
    return NULL;
}

static int lwp_listen(struct lwp *p, uint16_t port, enum lwp_role role, uint64_t seed)
{
    int h = MOAT_E_MFILE;
    lwp_lock(p);
    struct lwp_conn *c = conn_new(p, role, &h);
    if (c == NULL)
        goto out;
    if (role == ROLE_ECHO && (c->ring = malloc(LWP_ECHO_RING)) == NULL) {
        h = MOAT_E_NOMEM;
        goto fail;
    }
    pattern_check_init(&c->chk, seed);
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (pcb == NULL) {
        h = MOAT_E_NOMEM;
        goto fail;
    }
    if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
        tcp_close(pcb);
        h = MOAT_E_ADDRINUSE;
        goto fail;
    }
    c->lpcb = tcp_listen_with_backlog(pcb, 2);
    if (c->lpcb == NULL) {
        tcp_close(pcb);
        h = MOAT_E_NOMEM;
        goto fail;
    }
    tcp_arg(c->lpcb, c);
    tcp_accept(c->lpcb, listener_accept);
    goto out;
fail:
    free(c->ring);
    c->ring = NULL;
    c->role = ROLE_NONE;
out:
    lwp_unlock(p);
    return h;
}

int lwp_tcp_sink(struct lwp *p, uint16_t port, uint64_t seed)
{
    return lwp_listen(p, port, ROLE_SINK, seed);
}

int lwp_tcp_sink_hold(struct lwp *p, uint16_t port, uint64_t seed, uint64_t hold_at)
{
    int h = lwp_listen(p, port, ROLE_SINK, seed);
    if (h >= 0) {
        lwp_lock(p);
        p->conns[h].hold_at = hold_at;
        lwp_unlock(p);
    }
    return h;
}

void lwp_sink_resume(struct lwp *p, int h)
{
    if (h < 0 || h >= LWP_MAX_CONNS)
        return;
    lwp_lock(p);
    struct lwp_conn *c = &p->conns[h];
    c->resumed = 1;
    /* tcp_recved sends the window update itself once it is worth one. */
    while (c->pcb && c->held > 0) {
        u16_t k = c->held > 0xffffu ? 0xffffu : (u16_t)c->held;
        tcp_recved(c->pcb, k);
        c->held -= k;
    }
    lwp_unlock(p);
}

int lwp_sink_zero_window(struct lwp *p, int h, uint64_t *since_us, uint64_t *frames)
{
    if (h < 0 || h >= LWP_MAX_CONNS)
        return MOAT_E_INVAL;
    int r = MOAT_E_AGAIN;
    pthread_mutex_lock(&p->mu);
    struct lwp_conn *c = &p->conns[h];
    if (c->zw_seen) {
        *since_us = c->zw_t;
        *frames = p->cnt.frames_in - c->zw_frames;
        r = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

int lwp_tcp_echo(struct lwp *p, uint16_t port)
{
    return lwp_listen(p, port, ROLE_ECHO, 0);
}

int lwp_tcp_source(struct lwp *p, uint32_t dst, uint16_t port, uint64_t seed, uint64_t total)
{
    int h = MOAT_E_MFILE;
    ip_addr_t a;
    lwp_ip4(&a, dst);
    lwp_lock(p);
    struct lwp_conn *c = conn_new(p, ROLE_SOURCE, &h);
    if (c == NULL)
        goto out;
    c->seed = seed;
    c->total = total;
    c->pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (c->pcb == NULL) {
        c->role = ROLE_NONE;
        h = MOAT_E_NOMEM;
        goto out;
    }
    tcp_arg(c->pcb, c);
    tcp_err(c->pcb, tcp_err_cb);
    tcp_recv(c->pcb, check_recv);
    tcp_sent(c->pcb, source_sent);
    if (tcp_connect(c->pcb, &a, port, source_connected) != ERR_OK) {
        tcp_abort(c->pcb);
        c->pcb = NULL;
        c->role = ROLE_NONE;
        h = MOAT_E_NOMEM;
    }
out:
    lwp_unlock(p);
    return h;
}

static int lwp_deadline_wait(struct lwp *p, const struct timespec *dl)
{
    return pthread_cond_timedwait(&p->cv, &p->mu, dl);
}

static struct timespec lwp_deadline(unsigned timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000u;
    ts.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int lwp_wait(struct lwp *p, int h, unsigned want, unsigned timeout_ms,
             struct lwp_conn_result *out)
{
    if (h < 0 || h >= LWP_MAX_CONNS)
        return MOAT_E_INVAL;
    struct timespec dl = lwp_deadline(timeout_ms);
    struct lwp_conn *c = &p->conns[h];
    int r = 0;
    pthread_mutex_lock(&p->mu);
    /* Bounded: every pass either sees the condition or a timed wait that
     * ends by the deadline. */
    while ((c->flags & want) != want && !(c->flags & LWP_F_ERR)) {
        if (lwp_deadline_wait(p, &dl) == ETIMEDOUT) {
            r = MOAT_E_TIMEDOUT;
            break;
        }
    }
    if (r == 0 && (c->flags & want) != want)
        r = c->err == ERR_RST ? MOAT_E_CONNRESET : MOAT_E_CONNABORTED;
    memset(out, 0, sizeof(*out));
    out->flags = c->flags;
    out->err = c->err;
    out->bytes = c->chk.bytes;
    out->hash = c->chk.hash;
    out->mismatch_at = c->chk.mismatch_at;
    out->sent = c->sent;
    out->acked = c->acked;
    pthread_mutex_unlock(&p->mu);
    return r;
}

/* Abort the connection, close the listener and free the slot (lock held). */
static void conn_free(struct lwp_conn *c)
{
    if (c->pcb) {
        struct tcp_pcb *pcb = c->pcb;
        conn_detach(c);
        tcp_abort(pcb);
    }
    if (c->lpcb) {
        tcp_arg(c->lpcb, NULL);
        tcp_close(c->lpcb);
        c->lpcb = NULL;
    }
    free(c->ring);
    c->ring = NULL;
    c->role = ROLE_NONE;
}

void lwp_release(struct lwp *p, int h)
{
    if (h < 0 || h >= LWP_MAX_CONNS)
        return;
    lwp_lock(p);
    conn_free(&p->conns[h]);
    lwp_unlock(p);
}

const char *lwp_errname(int err)
{
    switch (err) {
    case ERR_OK: return "ERR_OK";
    case ERR_MEM: return "ERR_MEM";
    case ERR_BUF: return "ERR_BUF";
    case ERR_TIMEOUT: return "ERR_TIMEOUT";
    case ERR_RTE: return "ERR_RTE";
    case ERR_INPROGRESS: return "ERR_INPROGRESS";
    case ERR_VAL: return "ERR_VAL";
    case ERR_WOULDBLOCK: return "ERR_WOULDBLOCK";
    case ERR_USE: return "ERR_USE";
    case ERR_ALREADY: return "ERR_ALREADY";
    case ERR_ISCONN: return "ERR_ISCONN";
    case ERR_CONN: return "ERR_CONN";
    case ERR_IF: return "ERR_IF";
    case ERR_ABRT: return "ERR_ABRT";
    case ERR_RST: return "ERR_RST";
    case ERR_CLSD: return "ERR_CLSD";
    case ERR_ARG: return "ERR_ARG";
    default: return "ERR_?";
    }
}

/* ---- UDP echo and ICMP ping ------------------------------------------- */

static void udp_echo_recv(void *arg, struct udp_pcb *pcb, struct pbuf *pb,
                          const ip_addr_t *addr, u16_t port)
{
    (void)arg;
    /* A fresh pbuf: the received one may be a reassembled chain whose
     * header room we should not rely on. */
    struct pbuf *out = pbuf_alloc(PBUF_TRANSPORT, pb->tot_len, PBUF_RAM);
    if (out != NULL) {
        pbuf_copy(out, pb);
        udp_sendto(pcb, out, addr, port);
        pbuf_free(out);
    }
    pbuf_free(pb);
}

int lwp_udp_echo(struct lwp *p, uint16_t port)
{
    int r = 0;
    lwp_lock(p);
    if (p->udp == NULL) {
        p->udp = udp_new_ip_type(IPADDR_TYPE_V4);
        if (p->udp == NULL) {
            r = MOAT_E_NOMEM;
        } else if (udp_bind(p->udp, IP4_ADDR_ANY, port) != ERR_OK) {
            udp_remove(p->udp);
            p->udp = NULL;
            r = MOAT_E_ADDRINUSE;
        } else {
            udp_recv(p->udp, udp_echo_recv, p);
        }
    }
    lwp_unlock(p);
    return r;
}

/* Raw ICMP receive: @p pb starts at the IPv4 header. Returns 1 when the
 * packet was our echo reply (eaten), 0 to let lwIP's ICMP have it. */
static u8_t ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *pb, const ip_addr_t *addr)
{
    struct lwp *p = arg;
    uint8_t hdr[60 + 8];
    (void)pcb;
    (void)addr;
    if (pbuf_copy_partial(pb, hdr, 20, 0) != 20)
        return 0;
    unsigned ihl = (hdr[0] & 0x0fu) * 4u;
    if (ihl < 20 || pb->tot_len < ihl + 8u || pbuf_copy_partial(pb, hdr, (u16_t)(ihl + 8u), 0) != ihl + 8u)
        return 0;
    const uint8_t *icmp = hdr + ihl;
    uint16_t id = (uint16_t)(icmp[4] << 8 | icmp[5]), seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
    if (icmp[0] != 0 || id != p->ping_id)
        return 0;
    if (p->ping_state == 1 && seq == p->ping_seq) {
        uint8_t body[sizeof(p->ping_payload)];
        unsigned blen = pb->tot_len - ihl - 8u;
        int same = blen == p->ping_len && blen <= sizeof(body) &&
                   pbuf_copy_partial(pb, body, (u16_t)blen, (u16_t)(ihl + 8u)) == blen &&
                   memcmp(body, p->ping_payload, blen) == 0;
        p->ping_state = same ? 2 : 3;
        p->ping_t_reply = lwp_now_us();
        pthread_cond_broadcast(&p->cv);
    }
    pbuf_free(pb);
    return 1;
}

int lwp_ping(struct lwp *p, uint32_t dst, unsigned count, unsigned payload,
             unsigned timeout_ms, struct lwp_ping_result *out)
{
    ip_addr_t a;
    int r = 0;
    memset(out, 0, sizeof(*out));
    if (payload > sizeof(p->ping_payload))
        return MOAT_E_INVAL;
    lwp_ip4(&a, dst);
    lwp_lock(p);
    if (p->raw == NULL) {
        p->raw = raw_new(IP_PROTO_ICMP);
        if (p->raw == NULL)
            r = MOAT_E_NOMEM;
        else
            raw_recv(p->raw, ping_recv, p);
    }
    p->ping_id = 0x4c57;
    lwp_unlock(p);

    for (unsigned i = 0; r == 0 && i < count; i++) {
        lwp_lock(p);
        struct pbuf *pb = pbuf_alloc(PBUF_IP, (u16_t)(8u + payload), PBUF_RAM);
        if (pb == NULL) {
            lwp_unlock(p);
            r = MOAT_E_NOMEM;
            break;
        }
        uint8_t *m = pb->payload;
        p->ping_seq = (uint16_t)(i + 1u);
        p->ping_len = payload;
        for (unsigned k = 0; k < payload; k++)
            p->ping_payload[k] = (uint8_t)(k * 13u + i);
        m[0] = 8;   /* echo request */
        m[1] = 0;
        m[2] = m[3] = 0;
        m[4] = (uint8_t)(p->ping_id >> 8);
        m[5] = (uint8_t)p->ping_id;
        m[6] = (uint8_t)(p->ping_seq >> 8);
        m[7] = (uint8_t)p->ping_seq;
        memcpy(m + 8, p->ping_payload, payload);
        u16_t ck = inet_chksum(m, (u16_t)(8u + payload));
        memcpy(m + 2, &ck, 2);   /* already in network order */
        p->ping_state = 1;
        uint64_t t0 = lwp_now_us();
        raw_sendto(p->raw, pb, &a);
        pbuf_free(pb);
        out->sent++;
        struct timespec dl = lwp_deadline(timeout_ms);
        if (p->link->ops->flush)
            p->link->ops->flush(p->link);
        /* Bounded by the deadline. */
        while (p->ping_state == 1) {
            if (lwp_deadline_wait(p, &dl) == ETIMEDOUT)
                break;
        }
        if (p->ping_state == 2) {
            out->good++;
            out->rtt_us_sum += p->ping_t_reply - t0;
        } else if (p->ping_state == 3) {
            out->bad++;
        }
        p->ping_state = 0;
        lwp_unlock(p);
    }
    return r;
}

/* ---- the pump thread, start and stop ------------------------------------ */

static void lwp_tick_apps(struct lwp *p)
{
    for (int i = 0; i < LWP_MAX_CONNS; i++) {
        struct lwp_conn *c = &p->conns[i];
        if (c->role == ROLE_SOURCE && (c->flags & LWP_F_CONNECTED))
            source_push(c);
        else if (c->role == ROLE_ECHO && c->r_len > 0)
            echo_push(c);
        else if (c->role == ROLE_SINK && c->hold_at && !c->resumed && !c->zw_seen && c->pcb &&
                 c->pcb->rcv_ann_wnd == 0) {
            c->zw_seen = 1;
            c->zw_t = lwp_now_us();
            c->zw_frames = p->cnt.frames_in;
        }
    }
}

static void *lwp_pump(void *arg)
{
    struct lwp *p = arg;
    struct moat_link *l = p->link;
    int wfd = l->ops->wait_fd ? l->ops->wait_fd(l) : -1;

    while (!atomic_load(&p->stop)) {
        pthread_mutex_lock(&p->mu);
        unsigned n = lwp_rx(p, LWP_RX_BATCH);
        sys_check_timeouts();
        lwp_tick_apps(p);
        if (l->ops->flush)
            l->ops->flush(l);
        u32_t sleep_ms = sys_timeouts_sleeptime();
        int busy = n > 0 || (l->ops->arm && l->ops->arm(l));
        int64_t due = l->ops->next_due_us ? l->ops->next_due_us(l, lwp_now_us()) : -1;
        pthread_mutex_unlock(&p->mu);
        if (busy)
            continue;

        int timeout = LWP_POLL_MAX_MS;
        if (sleep_ms < (u32_t)timeout)
            timeout = (int)sleep_ms;
        if (due >= 0 && due / 1000 < timeout)
            timeout = (int)(due / 1000);
        struct pollfd pf[2] = { { wfd, POLLIN, 0 }, { p->kick_fd, POLLIN, 0 } };
        if (poll(pf, 2, timeout) > 0 && (pf[1].revents & POLLIN)) {
            uint64_t v;
            ssize_t k = read(p->kick_fd, &v, sizeof(v));
            (void)k;
        }
    }
    return NULL;
}

int lwp_start(struct moat_link *link, uint32_t ip, uint8_t prefix, struct lwp **out)
{
    int expect = 0;
    if (!lwp_binding_ok()) {
        fprintf(stderr, "lwip_peer: lwIP's symbols do not bind to liblwip (moat's "
                        "tcp_output/tcp_init exported by the executable?)\n");
        link->ops->close(link);
        return MOAT_E_NOTSUP;
    }
    if (!atomic_compare_exchange_strong(&lwp_active, &expect, 1)) {
        link->ops->close(link);
        return MOAT_E_ADDRINUSE;
    }
    pthread_once(&lwp_once, lwp_init_once);

    struct lwp *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        link->ops->close(link);
        atomic_store(&lwp_active, 0);
        return MOAT_E_NOMEM;
    }
    p->link = link;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->mu, NULL);
    p->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (p->kick_fd < 0) {
        lwp_stop(p);
        return MOAT_E_IO;
    }

    ip_addr_t a, m, g;
    uint32_t mask = prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
    lwp_ip4(&a, ip);
    lwp_ip4(&m, mask);
    lwp_ip4(&g, 0);
    pthread_mutex_lock(&p->mu);
    if (netif_add(&p->nif, ip_2_ip4(&a), ip_2_ip4(&m), ip_2_ip4(&g), p, lwp_netif_init,
                  ethernet_input) == NULL) {
        pthread_mutex_unlock(&p->mu);
        lwp_stop(p);
        return MOAT_E_NOMEM;
    }
    p->nif_added = 1;
    netif_set_default(&p->nif);
    netif_set_link_up(&p->nif);
    netif_set_up(&p->nif);
    pthread_mutex_unlock(&p->mu);

    if (pthread_create(&p->thr, NULL, lwp_pump, p) != 0) {
        lwp_stop(p);
        return MOAT_E_NOMEM;
    }
    p->thr_started = 1;
    *out = p;
    return 0;
}

void lwp_set_gateway(struct lwp *p, uint32_t gw)
{
    ip_addr_t g;
    lwp_ip4(&g, gw);
    pthread_mutex_lock(&p->mu);
    netif_set_gw(&p->nif, ip_2_ip4(&g));
    pthread_mutex_unlock(&p->mu);
}

void lwp_stop(struct lwp *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, 1);
    if (p->thr_started) {
        uint64_t one = 1;
        ssize_t n = write(p->kick_fd, &one, sizeof(one));
        (void)n;
        pthread_join(p->thr, NULL);
    }
    /* Only this thread is left: no lock needed, but lwIP's own checks
     * are happier with the same discipline. */
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < LWP_MAX_CONNS; i++)
        conn_free(&p->conns[i]);
    if (p->udp)
        udp_remove(p->udp);
    if (p->raw)
        raw_remove(p->raw);
    if (p->nif_added) {
        netif_set_down(&p->nif);
        netif_remove(&p->nif);
    }
    pthread_mutex_unlock(&p->mu);
    if (p->link)
        p->link->ops->close(p->link);
    if (p->kick_fd >= 0)
        close(p->kick_fd);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    atomic_store(&lwp_active, 0);
}

void lwp_counters(struct lwp *p, struct lwp_counters *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->cnt;
    pthread_mutex_unlock(&p->mu);
}
