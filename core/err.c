/* SPDX-License-Identifier: MIT */
/*
 * Error and drop-reason names and messages, from the single lists in
 * include/moat/err.h and include/moat/stats.h. Always compiled in.
 */
#include "moat/err.h"
#include "moat/stats.h"

static const char *const err_msgs[] = {
    "success",
#define MSG_(name, msg) msg,
    MOAT_ERRORS(MSG_)
#undef MSG_
};

static const char *const err_names[] = {
    "MOAT_OK",
#define NAME_(name, msg) "MOAT_E_" #name,
    MOAT_ERRORS(NAME_)
#undef NAME_
};

static const char *const drop_names[] = {
#define DN_(name, desc) #name,
    MOAT_DROPS(DN_)
#undef DN_
};

static const char *const drop_descs[] = {
#define DD_(name, desc) desc,
    MOAT_DROPS(DD_)
#undef DD_
};

const char *moat_strerror(int err)
{
    if (err > 0 || err <= MOAT_E_MIN_)
        return "unknown moat error code";
    return err_msgs[-err];
}

const char *moat_errname(int err)
{
    if (err > 0 || err <= MOAT_E_MIN_)
        return "MOAT_E_UNKNOWN";
    return err_names[-err];
}

const char *moat_drop_name(int reason)
{
    if (reason < 0 || reason >= MOAT_DROP_COUNT)
        return "UNKNOWN";
    return drop_names[reason];
}

const char *moat_drop_desc(int reason)
{
    if (reason < 0 || reason >= MOAT_DROP_COUNT)
        return "unknown drop reason";
    return drop_descs[reason];
}

uint64_t moat_stats_drops_total(const struct moat_stats *st)
{
    uint64_t t = 0;
    for (int i = 0; i < MOAT_DROP_COUNT; i++)
        t += st->drops[i];
    return t;
}
