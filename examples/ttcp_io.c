/* SPDX-License-Identifier: MIT */
/*
 * moat-ttcp's socket layer (ttcp_io.h): each call goes to moat's socket
 * API or to the host's BSD sockets, and maps the host's errors to
 * MOAT_E_* codes so the measuring code has one error path.
 */
#define _GNU_SOURCE

#include "ttcp_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int t_errno(struct tio *t)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return MOAT_E_AGAIN;
    t->last_errno = errno;
    switch (errno) {
    case ECONNREFUSED: return MOAT_E_CONNREFUSED;
    case ECONNRESET: return MOAT_E_CONNRESET;
    case ETIMEDOUT: return MOAT_E_TIMEDOUT;
    case EPIPE: return MOAT_E_PIPE;
    case EHOSTUNREACH: return MOAT_E_HOSTUNREACH;
    case ENETUNREACH: return MOAT_E_NETUNREACH;
    case EADDRINUSE: return MOAT_E_ADDRINUSE;
    default: return MOAT_E_IO;
    }
}

const char *t_strerror(struct tio *t, int rc)
{
    if (t->kernel && rc == MOAT_E_IO && t->last_errno)
        return strerror(t->last_errno);
    return moat_strerror(rc);
}

static void t_sockaddr(struct sockaddr_in *sa, uint32_t ip, uint16_t port)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(ip);
    sa->sin_port = htons(port);
}

/* Wait until @p s is readable (@p out == 0) or writable, or an error or
 * hang-up is pending, for at most @p ms. Returns 0 (ready or timed out;
 * the caller retries its call) or an error. */
int t_wait(struct tio *t, int64_t s, int out, int ms)
{
    if (t->kernel) {
        struct pollfd p = { .fd = (int)s, .events = (short)(out ? POLLOUT : POLLIN) };
        if (poll(&p, 1, ms) < 0 && errno != EINTR)
            return t_errno(t);
        return 0;
    }
    struct moat_pollfd p = { .sock = (moat_sock_t)s,
                             .events = (uint16_t)(out ? MOAT_POLLOUT : MOAT_POLLIN) };
    return moat_poll(t->st, &p, 1, ms, NULL);
}

void t_close(struct tio *t, int64_t s)
{
    if (t->kernel)
        close((int)s);
    else
        moat_sock_close(t->st, (moat_sock_t)s);
}

void t_nodelay(struct tio *t, int64_t s)
{
    if (t->kernel) {
        int one = 1;
        setsockopt((int)s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else {
        moat_sock_setopt(t->st, (moat_sock_t)s, MOAT_OPT_NODELAY, 1);
    }
}

int t_listen(struct tio *t, uint32_t ip, uint16_t port, int64_t *out)
{
    if (t->kernel) {
        struct sockaddr_in sa;
        int one = 1;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return t_errno(t);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        t_sockaddr(&sa, ip, port);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
            int rc = t_errno(t);
            close(fd);
            return rc;
        }
        *out = fd;
        return 0;
    }
    moat_sock_t s = 0;
    struct moat_addr a = { .ip = ip, .port = port };
    int rc = moat_sock_open(t->st, MOAT_SOCK_STREAM, &s);
    if (rc == 0)
        rc = moat_sock_setopt(t->st, s, MOAT_OPT_NONBLOCK, 1);
    if (rc == 0)
        moat_sock_setopt(t->st, s, MOAT_OPT_REUSEADDR, 1);
    if (rc == 0)
        rc = moat_sock_bind(t->st, s, &a);
    if (rc == 0)
        rc = moat_sock_listen(t->st, s, 16);
    if (rc != 0) {
        if (s)
            moat_sock_close(t->st, s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Returns 0, MOAT_E_AGAIN (nothing yet) or an error. */
int t_accept(struct tio *t, int64_t l, int64_t *out, uint32_t *peer_ip)
{
    if (t->kernel) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        int fd = accept4((int)l, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return t_errno(t);
        *peer_ip = ntohl(sa.sin_addr.s_addr);
        *out = fd;
        return 0;
    }
    moat_sock_t s = 0;
    struct moat_addr peer = { .ip = 0, .port = 0 };
    int rc = moat_sock_accept(t->st, (moat_sock_t)l, &s, &peer);
    if (rc != 0)
        return rc;
    moat_sock_setopt(t->st, s, MOAT_OPT_NONBLOCK, 1);
    *peer_ip = peer.ip;
    *out = s;
    return 0;
}

/* Connect with a deadline; returns 0 or an error. */
int t_connect(struct tio *t, uint32_t local, uint32_t ip, uint16_t port, int64_t *out)
{
    double deadline = ex_now() + TTCP_CONNECT_S;
    int rc;

    if (t->kernel) {
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return t_errno(t);
        if (local) {
            t_sockaddr(&sa, local, 0);
            if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
                rc = t_errno(t);
                close(fd);
                return rc;
            }
        }
        t_sockaddr(&sa, ip, port);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
            rc = t_errno(t);
            close(fd);
            return rc;
        }
        for (;;) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            int err = 0;
            socklen_t el = sizeof err;
            if (ex_stop || ex_now() > deadline) {
                close(fd);
                return ex_stop ? MOAT_E_CLOSED : MOAT_E_TIMEDOUT;
            }
            if (poll(&p, 1, EX_POLL_MS) <= 0)
                continue;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err != 0) {
                errno = err;
                rc = t_errno(t);
                close(fd);
                return rc;
            }
            *out = fd;
            return 0;
        }
    }

    moat_sock_t s = 0;
    struct moat_addr a = { .ip = ip, .port = port };
    rc = moat_sock_open(t->st, MOAT_SOCK_STREAM, &s);
    if (rc == 0)
        rc = moat_sock_setopt(t->st, s, MOAT_OPT_NONBLOCK, 1);
    if (rc == 0)
        rc = moat_sock_connect(t->st, s, &a);
    while (rc == MOAT_E_INPROGRESS || rc == MOAT_E_ALREADY || rc == MOAT_E_AGAIN) {
        struct moat_pollfd p = { .sock = s, .events = MOAT_POLLOUT };
        unsigned nready = 0;
        int64_t err = 0;
        if (ex_stop || ex_now() > deadline) {
            rc = ex_stop ? MOAT_E_CLOSED : MOAT_E_TIMEDOUT;
            break;
        }
        rc = moat_poll(t->st, &p, 1, EX_POLL_MS, &nready);
        if (rc != 0)
            break;
        if (nready == 0) {
            rc = MOAT_E_INPROGRESS;
            continue;
        }
        if (moat_sock_getopt(t->st, s, MOAT_OPT_ERROR, &err) == 0 && err != 0)
            rc = (int)err;
        else if (p.revents & (MOAT_POLLERR | MOAT_POLLHUP | MOAT_POLLNVAL))
            rc = MOAT_E_CONNREFUSED;
        else
            rc = 0;
    }
    if (rc != 0) {
        if (s)
            moat_sock_abort(t->st, s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The result of a kernel send() or recv() of @p n bytes (-1: errno). */
static int t_kernel_done(struct tio *t, ssize_t n, size_t *done)
{
    if (n < 0)
        return t_errno(t);
    *done = (size_t)n;
    return 0;
}

/* Non-blocking send/recv: 0 (with *done), MOAT_E_AGAIN, or an error.
 * recv: *done == 0 with 0 is end of stream. A NULL @p buf (moat only,
 * --zerocopy) moves up to @p len bytes in place through a view of the
 * socket's ring instead: send commits that much free space as it is,
 * recv releases that much of what arrived without reading it. */
static int t_send(struct tio *t, int64_t s, const void *buf, size_t len, size_t *done)
{
    if (t->kernel)
        return t_kernel_done(t, send((int)s, buf, len, MSG_NOSIGNAL), done);
    if (!buf) {
        struct moat_iov v[2];
        unsigned n = 0;
        int rc = moat_sock_send_view(t->st, (moat_sock_t)s, v, &n);
        if (rc != 0)
            return rc;
        *done = v[0].len + (n == 2 ? v[1].len : 0);
        if (*done > len)
            *done = len;
        return moat_sock_send_commit(t->st, (moat_sock_t)s, *done);
    }
    return moat_sock_send(t->st, (moat_sock_t)s, buf, len, done);
}

static int t_recv(struct tio *t, int64_t s, void *buf, size_t len, size_t *done)
{
    if (t->kernel)
        return t_kernel_done(t, recv((int)s, buf, len, 0), done);
    if (!buf) {
        struct moat_iov v[2];
        unsigned n = 0;
        int rc = moat_sock_recv_view(t->st, (moat_sock_t)s, v, &n);
        if (rc != 0 || n == 0)
            return rc;          /* n == 0: end of stream, *done stays 0 */
        *done = v[0].len + (n == 2 ? v[1].len : 0);
        if (*done > len)
            *done = len;
        return moat_sock_recv_release(t->st, (moat_sock_t)s, *done);
    }
    return moat_sock_recv(t->st, (moat_sock_t)s, buf, len, done);
}

int t_shutdown_wr(struct tio *t, int64_t s)
{
    if (t->kernel)
        return shutdown((int)s, SHUT_WR) == 0 ? 0 : t_errno(t);
    return moat_sock_shutdown(t->st, (moat_sock_t)s, MOAT_SHUT_WR);
}

/* Send all of buf (NULL: len bytes in place, see t_send), waiting for
 * space; returns 0 or an error. */
int t_send_all(struct tio *t, int64_t s, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        size_t done = 0;
        int rc;
        if (ex_stop)
            return MOAT_E_CLOSED;
        rc = t_send(t, s, buf, len, &done);
        if (rc == MOAT_E_AGAIN || (rc == 0 && done == 0)) {
            rc = t_wait(t, s, 1, EX_POLL_MS);
            if (rc != 0)
                return rc;
            continue;
        }
        if (rc != 0)
            return rc;
        if (buf)
            buf += done;
        len -= done;
    }
    return 0;
}

/* Receive at least one byte (or EOF, *done == 0); returns 0 or an error. */
int t_recv_some(struct tio *t, int64_t s, uint8_t *buf, size_t len, size_t *done,
                       double deadline)
{
    for (;;) {
        int rc;
        if (ex_stop)
            return MOAT_E_CLOSED;
        if (deadline > 0 && ex_now() > deadline)
            return MOAT_E_TIMEDOUT;
        rc = t_recv(t, s, buf, len, done);
        if (rc != MOAT_E_AGAIN)
            return rc;
        rc = t_wait(t, s, 0, EX_POLL_MS);
        if (rc != 0)
            return rc;
    }
}

