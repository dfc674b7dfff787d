/* SPDX-License-Identifier: MIT */
/*
 * moat-ttcp's one socket API over two stacks: the same calls drive moat's
 * sockets or the host's own (--kernel), so both are measured by the same
 * code (examples/moat-ttcp.c). Handles are moat handles or kernel fds.
 * The int calls return 0 or a MOAT_E_* code; t_strerror names it (for
 * --kernel, with the errno behind a MOAT_E_IO).
 */
#ifndef MOAT_EXAMPLES_TTCP_IO_H
#define MOAT_EXAMPLES_TTCP_IO_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define TTCP_CONNECT_S 10.0     /* give up connecting after */

/* One socket API over two stacks. Handles are moat handles or kernel fds. */
struct tio {
    int kernel;
    struct moat_stack *st;
    int last_errno;             /* kernel mode: errno behind a MOAT_E_IO */
};

const char *t_strerror(struct tio *t, int rc);
int t_wait(struct tio *t, int64_t s, int out, int ms);
void t_close(struct tio *t, int64_t s);
void t_nodelay(struct tio *t, int64_t s);
int t_listen(struct tio *t, uint32_t ip, uint16_t port, int64_t *out);
int t_accept(struct tio *t, int64_t l, int64_t *out, uint32_t *peer_ip);
int t_connect(struct tio *t, uint32_t local, uint32_t ip, uint16_t port, int64_t *out);
int t_shutdown_wr(struct tio *t, int64_t s);
int t_send_all(struct tio *t, int64_t s, const uint8_t *buf, size_t len);
int t_recv_some(struct tio *t, int64_t s, uint8_t *buf, size_t len, size_t *done,
                double deadline);

#endif
