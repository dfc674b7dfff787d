/* SPDX-License-Identifier: MIT */
/*
 * The pure message part of the application side of the socket boundary
 * (see app/msg_enc.h): freestanding, no waits and no system calls, so the
 * client and the test support share one encoding.
 */
#include <string.h>

#include "app/msg_enc.h"

void app_req_init(struct moat_msg *m, unsigned type, uint32_t sock)
{
    memset(m, 0, sizeof(*m));
    m->type = (uint16_t)type;
    m->sock = sock;
}

int app_req_put(struct moat_ring *ctl, struct moat_msg *req, uint32_t id)
{
    uint32_t space = 0;

    if (moat_ring_space(ctl, &space) != 0)
        return MOAT_E_PEER;
    if (space < MOAT_MSG_SIZE)
        return MOAT_E_AGAIN;
    req->id = id;
    moat_ring_put(ctl, 0, req, MOAT_MSG_SIZE);
    moat_ring_publish(ctl, MOAT_MSG_SIZE);
    return 0;
}

int app_evt_take(struct moat_ring *evt, struct moat_msg *m)
{
    uint32_t avail = 0;

    if (moat_ring_avail(evt, &avail) != 0)
        return MOAT_E_PEER;
    if (avail < MOAT_MSG_SIZE)
        return MOAT_E_AGAIN;
    moat_ring_get(evt, 0, m, MOAT_MSG_SIZE);
    moat_ring_consume(evt, MOAT_MSG_SIZE);
    return moat_msg_check(m, MOAT_DIR_NET) != 0 ? MOAT_E_PEER : 0;
}

bool app_resp_answers(const struct moat_msg *m, uint32_t id)
{
    return m->type == MOAT_MSG_RESP && m->id == id;
}
