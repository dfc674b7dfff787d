/* SPDX-License-Identifier: MIT */
/*
 * The net domain dies under the application (process and seccomp
 * backends): moat-netd is killed with SIGKILL while an application thread
 * is blocked in recv (UDP) or in send (TCP, send ring full). The blocked
 * call must return MOAT_E_DEAD within 100 ms, the supervisor must report
 * which domain died of which signal, the application must survive and be
 * able to open a new stack; and a clean close must leave no moat-* child.
 * The link domain, by contrast, may die at any time: killed five times
 * during a 16 MiB TCP transfer, the data still arrives intact. And an
 * application that dies without closing its stack leaves no domain
 * behind: both notice through the application's pidfd (they may not call
 * getppid under seccomp) and exit, moat-netd after resetting the
 * application's connections (the peers' calls fail with CONNRESET).
 * A net domain that is stopped (SIGSTOP) rather than killed turns into
 * MOAT_E_DEAD within cfg.net_stall_ms (its heartbeat stops); an idle one
 * never does. docs/faults.md has the figures.
 *
 *   stack A (wire end A)  <== shared-memory wire ==>  stack B (wire end B)
 *   each: app (this process) -- moat-netd -- moat-linkd
 *
 * "Blocked" is observed, not assumed: the killer waits (bounded) until
 * the region's app_waiters count says the thread sleeps on the futex.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "moat/moat.h"
#include "moat/socket.h"
#include "app/stack.h"
#include "backends/process/supervisor.h"
#include "ports/linux/linux_port.h"
#include "support/check_main.h"
#include "support/itest.h"

#define ND_IP_A 0xc0000201u   /* 192.0.2.1 */
#define ND_IP_B 0xc0000202u   /* 192.0.2.2 */

static void nd_wire_path(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "/tmp/moat-netd-death-%d-%s", (int)getpid(), tag);
}

#define ND_STALL_MS 2000u      /* net_stall_ms of the stall tests: the least allowed */

static struct moat_stack *nd_open_stall(const char *wire, uint32_t ip, uint32_t stall_ms)
{
    struct moat_config cfg;
    struct moat_stack *st = NULL;
    itest_config(&cfg, ip, wire ? MOAT_LINK_WIRE : MOAT_LINK_NONE, wire);
    cfg.net_stall_ms = stall_ms;
    cfg.max_sockets = 8;
    cfg.sock_rx_bytes = 64 * 1024;
    cfg.sock_tx_bytes = 64 * 1024;
    ck_assert_int_eq(moat_stack_open(&cfg, &st), 0);
    return st;
}

static struct moat_stack *nd_open(const char *wire, uint32_t ip)
{
    struct moat_config defaults;
    moat_config_defaults(&defaults);
    return nd_open_stall(wire, ip, defaults.net_stall_ms);
}

/* A TCP connection from B (its send timeout @p snd_timeo_ms) to a listener
 * on A port @p port; the listener stays open with the stack. */
static void nd_tcp_connect(struct moat_stack *a, struct moat_stack *b, uint16_t port,
                           int snd_timeo_ms, moat_sock_t *cs, moat_sock_t *as)
{
    struct moat_addr la = { .ip = ND_IP_A, .port = port };
    moat_sock_t ls;
    ck_assert_int_eq(moat_sock_open(a, MOAT_SOCK_STREAM, &ls), 0);
    ck_assert_int_eq(moat_sock_bind(a, ls, &la), 0);
    ck_assert_int_eq(moat_sock_listen(a, ls, 4), 0);
    ck_assert_int_eq(moat_sock_open(b, MOAT_SOCK_STREAM, cs), 0);
    ck_assert_int_eq(moat_sock_setopt(b, *cs, MOAT_OPT_SNDTIMEO_MS, snd_timeo_ms), 0);
    ck_assert_int_eq(moat_sock_connect(b, *cs, &la), 0);
    ck_assert_int_eq(moat_sock_setopt(a, ls, MOAT_OPT_RCVTIMEO_MS, 10000), 0);
    ck_assert_int_eq(moat_sock_accept(a, ls, as, NULL), 0);
}

/* Children of this process whose name starts with "moat-". */
static int nd_moat_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        char *l = strchr(buf, '('), *r = strrchr(buf, ')');
        int ppid = 0;
        if (!l || !r || sscanf(r + 2, "%*c %d", &ppid) != 1)
            continue;
        if (ppid == getpid() && strncmp(l + 1, "moat-", 5) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Wait (bounded) until some application thread sleeps on the stack. */
static void nd_wait_blocked(struct moat_stack *st)
{
    uint64_t end = itest_now_us() + 5000000u;
    while (atomic_load(&st->hdr->app_waiters) == 0) {
        ck_assert_msg(itest_now_us() < end, "the call never blocked");
        itest_pause_ms(1);
    }
    itest_pause_ms(20);   /* let it settle into the futex; the bound below still holds */
}

struct nd_call {
    struct moat_stack *st;
    moat_sock_t s;
    int tcp_send;       /* 0: UDP recv, 1: TCP send until blocked */
    int result;
    uint64_t returned_us;
};

static void *nd_blocked_call(void *arg)
{
    struct nd_call *c = arg;
    static uint8_t buf[65536];
    size_t n = 0;
    if (c->tcp_send) {
        /* Fill the send ring and the peer's window: eventually blocks. */
        for (int i = 0; i < 100000; i++) {
            c->result = moat_sock_send(c->st, c->s, buf, sizeof buf, &n);
            if (c->result != 0)
                break;
        }
    } else {
        c->result = moat_sock_recv(c->st, c->s, buf, sizeof buf, &n);
    }
    c->returned_us = itest_now_us();
    return NULL;
}

static void nd_kill_and_check(struct nd_call *c, pthread_t thr)
{
    int netd = 0, linkd = 0;
    ck_assert_int_eq(moat_supervisor_pids(c->st, &netd, &linkd), 0);
    ck_assert_int_gt(netd, 0);
    nd_wait_blocked(c->st);
    uint64_t t0 = itest_now_us();
    ck_assert_int_eq(kill(netd, SIGKILL), 0);
    pthread_join(thr, NULL);
    ck_assert_int_eq(c->result, MOAT_E_DEAD);
    uint64_t took = c->returned_us - t0;
    fprintf(stderr, "blocked %s returned MOAT_E_DEAD %llu us after SIGKILL\n",
            c->tcp_send ? "send" : "recv", (unsigned long long)took);
    ck_assert_uint_lt(took, 100000);

    /* The report follows the error (the supervisor fails the stack first,
     * then stops the link domain, then reports). */
    struct moat_domain_death d;
    uint64_t end = itest_now_us() + 5000000u;
    while (moat_supervisor_last_death(c->st, &d) != 0 && itest_now_us() < end)
        itest_pause_ms(1);
    ck_assert_int_eq(moat_supervisor_last_death(c->st, &d), 0);
    ck_assert_int_eq(d.domain, MOAT_DOMAIN_NETD);
    ck_assert_str_eq(d.name, "moat-netd");
    ck_assert_int_eq(d.pid, netd);
    ck_assert_int_eq(d.signal, SIGKILL);
    /* Every other call fails the same way, at once. */
    moat_sock_t s2;
    ck_assert_int_eq(moat_sock_open(c->st, MOAT_SOCK_DGRAM, &s2), MOAT_E_DEAD);
}

START_TEST(netd_killed_during_blocked_recv)
{
    struct moat_stack *st = nd_open(NULL, ND_IP_A);
    struct nd_call c = { .st = st, .tcp_send = 0 };
    struct moat_addr a = { .ip = ND_IP_A, .port = 7 };
    pthread_t thr;
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &c.s), 0);
    ck_assert_int_eq(moat_sock_bind(st, c.s, &a), 0);
    ck_assert_int_eq(pthread_create(&thr, NULL, nd_blocked_call, &c), 0);
    nd_kill_and_check(&c, thr);
    moat_stack_close(st);
    ck_assert_int_eq(nd_moat_children(), 0);

    /* The application lives on and can open a new stack. */
    st = nd_open(NULL, ND_IP_A);
    moat_sock_t s;
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s), 0);
    ck_assert_int_eq(moat_sock_bind(st, s, &a), 0);
    ck_assert_int_eq(moat_sock_close(st, s), 0);
    moat_stack_close(st);
    ck_assert_int_eq(nd_moat_children(), 0);
}
END_TEST

START_TEST(netd_killed_during_blocked_send)
{
    char wire[128];
    nd_wire_path(wire, sizeof wire, "send");
    struct moat_stack *a = nd_open(wire, ND_IP_A);
    struct moat_stack *b = nd_open(wire, ND_IP_B);
    moat_sock_t cs, as;
    nd_tcp_connect(a, b, 5001, 10000, &cs, &as);
    /* A never reads: B's send blocks once A's window and B's ring are full. */
    struct nd_call c = { .st = b, .s = cs, .tcp_send = 1 };
    pthread_t thr;
    ck_assert_int_eq(pthread_create(&thr, NULL, nd_blocked_call, &c), 0);
    nd_kill_and_check(&c, thr);
    moat_stack_close(b);
    moat_stack_close(a);
    moat_wire_unlink(wire);
    ck_assert_int_eq(nd_moat_children(), 0);
}
END_TEST

START_TEST(clean_close_leaves_no_domain_behind)
{
    char wire[128];
    nd_wire_path(wire, sizeof wire, "clean");
    struct moat_stack *a = nd_open(wire, ND_IP_A);
    int netd = 0, linkd = 0;
    ck_assert_int_eq(moat_supervisor_pids(a, &netd, &linkd), 0);
    ck_assert_int_gt(netd, 0);
    ck_assert_int_gt(linkd, 0);
    ck_assert_int_eq(nd_moat_children(), 2);
    moat_stack_close(a);
    moat_wire_unlink(wire);
    ck_assert_int_eq(nd_moat_children(), 0);
    ck_assert_int_eq(kill(netd, 0), -1);    /* reaped, not zombies */
    ck_assert_int_eq(kill(linkd, 0), -1);
}
END_TEST

START_TEST(linkd_killed_is_restarted_quietly)
{
    char wire[128];
    nd_wire_path(wire, sizeof wire, "restart");
    struct moat_stack *a = nd_open(wire, ND_IP_A);
    struct moat_stack *b = nd_open(wire, ND_IP_B);
    moat_sock_t sa, sb;
    struct moat_addr aa = { .ip = ND_IP_A, .port = 9 }, ab = { .ip = ND_IP_B, .port = 9 };
    ck_assert_int_eq(moat_sock_open(a, MOAT_SOCK_DGRAM, &sa), 0);
    ck_assert_int_eq(moat_sock_bind(a, sa, &aa), 0);
    ck_assert_int_eq(moat_sock_open(b, MOAT_SOCK_DGRAM, &sb), 0);
    ck_assert_int_eq(moat_sock_bind(b, sb, &ab), 0);
    ck_assert_int_eq(moat_sock_setopt(a, sa, MOAT_OPT_RCVTIMEO_MS, 200), 0);
    for (int round = 0; round < 3; round++) {
        int netd = 0, linkd = 0;
        ck_assert_int_eq(moat_supervisor_pids(a, &netd, &linkd), 0);
        ck_assert_int_eq(kill(linkd, SIGKILL), 0);
        /* UDP has no retransmission: the test retransmits until one
         * datagram makes it through the new link domain (bounded). */
        int got_it = 0;
        for (int i = 0; i < 50 && !got_it; i++) {
            char msg[16], buf[16];
            size_t n = 0;
            snprintf(msg, sizeof msg, "round %d", round);
            moat_sock_sendto(b, sb, msg, strlen(msg), &aa, &n);
            if (moat_sock_recvfrom(a, sa, buf, sizeof buf, NULL, &n) == 0 && n == strlen(msg) &&
                memcmp(buf, msg, n) == 0)
                got_it = 1;
        }
        ck_assert_msg(got_it, "no datagram after restart %d", round);
        /* The datagram crossed a new link domain; the count follows. */
        uint64_t end = itest_now_us() + 5000000u;
        while (moat_supervisor_link_restarts(a) < (unsigned)round + 1 && itest_now_us() < end)
            itest_pause_ms(1);
        ck_assert_uint_eq(moat_supervisor_link_restarts(a), (unsigned)round + 1);
        struct moat_domain_death d;
        ck_assert_int_eq(moat_supervisor_last_death(a, &d), 0);
        ck_assert_int_eq(d.domain, MOAT_DOMAIN_LINKD);
        ck_assert_int_eq(d.signal, SIGKILL);
    }
    moat_stack_close(b);
    moat_stack_close(a);
    moat_wire_unlink(wire);
    ck_assert_int_eq(nd_moat_children(), 0);
}
END_TEST


/* ---- the link domain dies five times under a TCP transfer ------------- */

#define ND_BULK (16u << 20)

static uint8_t nd_pattern(uint64_t i) { return (uint8_t)((i * 2654435761u) >> 13); }

struct nd_sender {
    struct moat_stack *st;
    moat_sock_t s;
    int result;
};

static void *nd_send_all(void *arg)
{
    struct nd_sender *snd = arg;
    static uint8_t buf[32768];
    uint64_t off = 0;
    snd->result = 0;
    while (off < ND_BULK && snd->result == 0) {
        size_t len = sizeof buf, n = 0;
        if (ND_BULK - off < len)
            len = (size_t)(ND_BULK - off);
        for (size_t k = 0; k < len; k++)
            buf[k] = nd_pattern(off + k);
        snd->result = moat_sock_send(snd->st, snd->s, buf, len, &n);
        off += n;   /* blocking send: n == len unless it failed */
    }
    if (snd->result == 0)
        snd->result = moat_sock_shutdown(snd->st, snd->s, MOAT_SHUT_WR);
    return NULL;
}

START_TEST(linkd_killed_five_times_during_tcp_transfer)
{
    char wire[128];
    nd_wire_path(wire, sizeof wire, "bulk");
    struct moat_stack *a = nd_open(wire, ND_IP_A);
    struct moat_stack *b = nd_open(wire, ND_IP_B);
    moat_sock_t cs, as;
    nd_tcp_connect(a, b, 5002, 30000, &cs, &as);
    ck_assert_int_eq(moat_sock_setopt(a, as, MOAT_OPT_RCVTIMEO_MS, 30000), 0);

    struct nd_sender snd = { .st = b, .s = cs };
    pthread_t thr;
    ck_assert_int_eq(pthread_create(&thr, NULL, nd_send_all, &snd), 0);
    static uint8_t buf[65536];
    uint64_t got = 0, next_kill = ND_BULK / 8;
    int kills = 0, bad = 0;
    uint64_t t0 = itest_now_us();
    for (;;) {
        size_t n = 0;
        int r = moat_sock_recv(a, as, buf, sizeof buf, &n);
        ck_assert_int_eq(r, 0);
        if (n == 0)
            break;      /* end of stream */
        for (size_t k = 0; k < n; k++)
            bad += buf[k] != nd_pattern(got + k);
        got += n;
        if (kills < 5 && got >= next_kill) {
            /* Alternate: the receiver's link domain, then the sender's. */
            struct moat_stack *victim = kills % 2 ? b : a;
            int netd = 0, linkd = 0;
            ck_assert_int_eq(moat_supervisor_pids(victim, &netd, &linkd), 0);
            if (linkd > 0 && kill(linkd, SIGKILL) == 0)
                kills++;
            next_kill += ND_BULK / 8;
        }
    }
    pthread_join(thr, NULL);
    uint64_t us = itest_now_us() - t0;
    fprintf(stderr, "16 MiB over the wire with %d link domain kills: %.2f s, restarts a=%u b=%u\n",
            kills, us / 1e6, moat_supervisor_link_restarts(a), moat_supervisor_link_restarts(b));
    ck_assert_int_eq(snd.result, 0);
    ck_assert_uint_eq(got, ND_BULK);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(kills, 5);
    moat_stack_close(b);
    moat_stack_close(a);
    moat_wire_unlink(wire);
    ck_assert_int_eq(nd_moat_children(), 0);
}
END_TEST

START_TEST(link_error_is_the_answer_of_stack_open)
{
    /* The link domain opens the wire; its error must come back from
     * moat_stack_open as the thread backend's would, with nothing left
     * running. A third end on one wire is refused. */
    char wire[128];
    nd_wire_path(wire, sizeof wire, "third");
    struct moat_stack *a = nd_open(wire, ND_IP_A);
    struct moat_stack *b = nd_open(wire, ND_IP_B);
    struct moat_config cfg;
    struct moat_stack *c = NULL;
    moat_config_defaults(&cfg);
    cfg.ifs[0].ip = 0xc0000203u;
    cfg.ifs[0].prefix = 24;
    cfg.ifs[0].link = MOAT_LINK_WIRE;
    snprintf(cfg.ifs[0].dev, sizeof cfg.ifs[0].dev, "%s", wire);
    ck_assert_int_eq(moat_stack_open(&cfg, &c), MOAT_E_ADDRINUSE);
    ck_assert_int_eq(nd_moat_children(), 4);   /* only a's and b's */
    moat_stack_close(b);
    moat_stack_close(a);
    moat_wire_unlink(wire);
    ck_assert_int_eq(nd_moat_children(), 0);
}
END_TEST


/* A child process to play the application (it talks back on @p pfd).
 * This process is made a subreaper first, so the child's orphaned
 * domains become our children and we can reap them and see how they
 * ended. */
static pid_t nd_fork_app(int pfd[2])
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t app = fork();
    ck_assert_int_ge(app, 0);
    return app;
}

/* The application dies (SIGKILL, no moat_stack_close) while its domains
 * idle: each must exit by itself (both wake on the application's pidfd;
 * moat-linkd may wait up to 1 s for moat-netd's last frames), within 5 s. */
START_TEST(domains_exit_when_the_application_dies)
{
    char wire[128];
    int pfd[2];
    nd_wire_path(wire, sizeof wire, "orphan");
    pid_t app = nd_fork_app(pfd);
    if (app == 0) {
        struct moat_stack *a = nd_open(wire, ND_IP_A);
        int pids[2] = { 0, 0 };
        moat_supervisor_pids(a, &pids[0], &pids[1]);
        ssize_t w = write(pfd[1], pids, sizeof pids);
        (void)w;
        for (;;)
            pause();    /* until the SIGKILL */
    }
    close(pfd[1]);
    int pids[2] = { 0, 0 };
    ck_assert_int_eq(read(pfd[0], pids, sizeof pids), (ssize_t)sizeof pids);
    close(pfd[0]);
    ck_assert_int_gt(pids[0], 0);
    ck_assert_int_gt(pids[1], 0);
    itest_pause_ms(50);         /* both asleep */
    uint64_t t0 = itest_now_us();
    ck_assert_int_eq(kill(app, SIGKILL), 0);
    ck_assert_int_eq(waitpid(app, NULL, 0), app);
    int left = 2;
    uint64_t end = t0 + 5000000u;
    while (left > 0 && itest_now_us() < end) {
        int st = 0;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p == pids[0] || p == pids[1]) {
            /* A clean exit of its own, not a kill (nor a SIGSYS). */
            ck_assert_msg(WIFEXITED(st), "domain %d: status %#x", (int)p, st);
            left--;
        } else {
            itest_pause_ms(5);
        }
    }
    fprintf(stderr, "domains gone %.1f ms after the application\n",
            (double)(itest_now_us() - t0) / 1000.0);
    for (int k = 0; k < 2; k++)
        if (kill(pids[k], 0) == 0)
            kill(pids[k], SIGKILL);     /* do not leave it behind on failure */
    ck_assert_int_eq(left, 0);
    moat_wire_unlink(wire);
}
END_TEST

/* ---- a stopped net domain: an error within the stall bound ----------- */

/* moat-netd is alive but stopped (SIGSTOP): its pidfd says nothing, so
 * only the heartbeat can tell. A recv blocked on it must fail with
 * MOAT_E_DEAD no sooner than the bound minus the net domain's longest
 * sleep (the last beat may be that old) and no later than the bound plus
 * two wait slices (docs/faults.md). */
START_TEST(netd_stopped_during_blocked_recv)
{
    struct moat_stack *st = nd_open_stall(NULL, ND_IP_A, ND_STALL_MS);
    struct nd_call c = { .st = st, .tcp_send = 0 };
    struct moat_addr a = { .ip = ND_IP_A, .port = 7 };
    pthread_t thr;
    int netd = 0, linkd = 0;
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &c.s), 0);
    ck_assert_int_eq(moat_sock_bind(st, c.s, &a), 0);
    ck_assert_int_eq(moat_supervisor_pids(st, &netd, &linkd), 0);
    ck_assert_int_eq(pthread_create(&thr, NULL, nd_blocked_call, &c), 0);
    nd_wait_blocked(st);
    uint64_t t0 = itest_now_us();
    ck_assert_int_eq(kill(netd, SIGSTOP), 0);
    pthread_join(thr, NULL);
    uint64_t took = c.returned_us - t0;
    fprintf(stderr, "blocked recv returned %s %.0f ms after SIGSTOP (net_stall_ms %u)\n",
            moat_strerror(c.result), (double)took / 1000.0, ND_STALL_MS);
    kill(netd, SIGCONT);
    ck_assert_int_eq(c.result, MOAT_E_DEAD);
    ck_assert_uint_ge(took, (ND_STALL_MS - 1000u) * 1000u);
    ck_assert_uint_lt(took, (ND_STALL_MS + 600u) * 1000u);
    moat_sock_t s2;
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s2), MOAT_E_DEAD);
    moat_stack_close(st);
    ck_assert_int_eq(nd_moat_children(), 0);
}
END_TEST

/* No false alarm: an idle net domain sleeps (1 s at most at a time) and
 * a recv that waits well past the bound times out normally. */
START_TEST(idle_netd_is_not_a_stall)
{
    struct moat_stack *st = nd_open_stall(NULL, ND_IP_A, ND_STALL_MS);
    struct moat_addr a = { .ip = ND_IP_A, .port = 7 };
    moat_sock_t s;
    uint8_t buf[64];
    size_t n = 0;
    ck_assert_int_eq(moat_sock_open(st, MOAT_SOCK_DGRAM, &s), 0);
    ck_assert_int_eq(moat_sock_bind(st, s, &a), 0);
    ck_assert_int_eq(moat_sock_setopt(st, s, MOAT_OPT_RCVTIMEO_MS, 2 * ND_STALL_MS + 500), 0);
    ck_assert_int_eq(moat_sock_recv(st, s, buf, sizeof buf, &n), MOAT_E_AGAIN);
    ck_assert_int_eq(moat_sock_close(st, s), 0);
    moat_stack_close(st);
}
END_TEST

/* ---- the application dies holding connections: its peers get RSTs ----- */

/* A child process (the application) opens stack A on a wire and connects
 * N TCP connections to listeners of stack B here, then is killed with
 * SIGKILL. A's net domain notices through the application's pidfd, resets
 * every connection and has A's link domain send the RSTs before both
 * exit: each of B's sockets must fail its blocked recv with
 * MOAT_E_CONNRESET, soon. */
#define ND_ORPHAN_CONNS 4

START_TEST(application_death_resets_its_connections)
{
    char wire[128];
    int pfd[2];
    nd_wire_path(wire, sizeof wire, "rst");
    struct moat_stack *b = nd_open(wire, ND_IP_B);
    struct moat_addr lb = { .ip = ND_IP_B, .port = 5003 };
    moat_sock_t ls, as[ND_ORPHAN_CONNS];
    ck_assert_int_eq(moat_sock_open(b, MOAT_SOCK_STREAM, &ls), 0);
    ck_assert_int_eq(moat_sock_bind(b, ls, &lb), 0);
    ck_assert_int_eq(moat_sock_listen(b, ls, ND_ORPHAN_CONNS), 0);
    ck_assert_int_eq(moat_sock_setopt(b, ls, MOAT_OPT_RCVTIMEO_MS, 10000), 0);
    pid_t app = nd_fork_app(pfd);
    if (app == 0) {
        struct moat_stack *a = nd_open(wire, ND_IP_A);
        int ok = 1;
        for (int i = 0; i < ND_ORPHAN_CONNS; i++) {
            moat_sock_t cs;
            ok &= moat_sock_open(a, MOAT_SOCK_STREAM, &cs) == 0 &&
                  moat_sock_connect(a, cs, &lb) == 0;
        }
        ssize_t w = write(pfd[1], &ok, sizeof ok);
        (void)w;
        for (;;)
            pause();    /* until the SIGKILL, holding the connections */
    }
    close(pfd[1]);
    for (int i = 0; i < ND_ORPHAN_CONNS; i++) {
        ck_assert_int_eq(moat_sock_accept(b, ls, &as[i], NULL), 0);
        ck_assert_int_eq(moat_sock_setopt(b, as[i], MOAT_OPT_RCVTIMEO_MS, 5000), 0);
    }
    int ok = 0;
    ck_assert_int_eq(read(pfd[0], &ok, sizeof ok), (ssize_t)sizeof ok);
    close(pfd[0]);
    ck_assert_int_eq(ok, 1);
    itest_pause_ms(50);         /* both of A's domains asleep */
    uint64_t t0 = itest_now_us();
    ck_assert_int_eq(kill(app, SIGKILL), 0);
    ck_assert_int_eq(waitpid(app, NULL, 0), app);
    int reset = 0;
    for (int i = 0; i < ND_ORPHAN_CONNS; i++) {
        uint8_t buf[64];
        size_t n = 0;
        int r = moat_sock_recv(b, as[i], buf, sizeof buf, &n);
        reset += r == MOAT_E_CONNRESET;
        if (r != MOAT_E_CONNRESET)
            fprintf(stderr, "connection %d: recv %s\n", i, moat_strerror(r));
    }
    uint64_t took = itest_now_us() - t0;
    fprintf(stderr, "%d of %d peers reset %.1f ms after the application's SIGKILL\n",
            reset, ND_ORPHAN_CONNS, (double)took / 1000.0);
    /* Reap the orphaned domains (we are their subreaper). */
    uint64_t end = itest_now_us() + 5000000u;
    int left = 2;
    while (left > 0 && itest_now_us() < end) {
        pid_t p = waitpid(-1, NULL, WNOHANG);
        if (p > 0)
            left--;
        else
            itest_pause_ms(5);
    }
    ck_assert_int_eq(reset, ND_ORPHAN_CONNS);
    ck_assert_uint_lt(took, 1000000u);
    ck_assert_int_eq(left, 0);
    moat_stack_close(b);
    moat_wire_unlink(wire);
}
END_TEST

static Suite *netd_death_suite(void)
{
    Suite *s = suite_create("netd_death");
    TCase *tc = tcase_create("supervision");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, clean_close_leaves_no_domain_behind);
    tcase_add_test(tc, domains_exit_when_the_application_dies);
    tcase_add_test(tc, link_error_is_the_answer_of_stack_open);
    tcase_add_test(tc, netd_killed_during_blocked_recv);
    tcase_add_test(tc, netd_killed_during_blocked_send);
    tcase_add_test(tc, linkd_killed_is_restarted_quietly);
    tcase_add_test(tc, linkd_killed_five_times_during_tcp_transfer);
    tcase_add_test(tc, netd_stopped_during_blocked_recv);
    tcase_add_test(tc, idle_netd_is_not_a_stall);
    tcase_add_test(tc, application_death_resets_its_connections);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(netd_death_suite)
