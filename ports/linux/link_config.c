/* SPDX-License-Identifier: MIT */
/*
 * From an interface's configuration to a link: TAP or shared-memory wire,
 * optionally wrapped in a pcap capture. Also the counters look-up that
 * works on any link this port made.
 *
 * Owns: moat_link_from_config, moat_linux_link_counters. Does not set the
 * link's MAC: the core derives it from the configuration (moat_if_config.mac
 * or the IP address).
 */
#include <string.h>

#include "linux_link.h"

int moat_link_from_config(const struct moat_if_config *ifc, struct moat_link **out)
{
    if (ifc == NULL || out == NULL)
        return MOAT_E_INVAL;
    *out = NULL;
    uint16_t mtu = ifc->mtu ? ifc->mtu : 1500;
    if (memchr(ifc->dev, '\0', sizeof ifc->dev) == NULL ||
        memchr(ifc->pcap, '\0', sizeof ifc->pcap) == NULL)
        return MOAT_E_INVAL;   /* not terminated */

    struct moat_link *l = NULL;
    int rc;
    switch (ifc->link) {
    case MOAT_LINK_TAP: {
        int fd = -1;
        rc = moat_tap_open_opts(ifc->dev, !ifc->no_offload, &fd);
        if (rc == 0)
            rc = moat_tap_link(fd, mtu, &l);
        break;
    }
    case MOAT_LINK_WIRE:
        rc = moat_wire_link(ifc->dev, &ifc->impair, mtu, &l);
        break;
    case MOAT_LINK_NONE:
    case MOAT_LINK_CUSTOM:
    default:
        return MOAT_E_INVAL;
    }
    if (rc != 0)
        return rc;
    if (ifc->pcap[0] != '\0') {
        struct moat_link *p = NULL;
        rc = moat_pcap_link(l, ifc->pcap, &p);   /* takes l, even on failure */
        if (rc != 0)
            return rc;
        l = p;
    }
    *out = l;
    return 0;
}

int moat_linux_link_counters(struct moat_link *l, struct moat_link_counters *out)
{
    if (l == NULL || out == NULL)
        return MOAT_E_INVAL;
    if (linux_tap_counters(l, out) == 0 || linux_wire_counters(l, out) == 0 ||
        linux_pcap_counters(l, out) == 0)
        return 0;
    return MOAT_E_INVAL;
}
