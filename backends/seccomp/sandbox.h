/* SPDX-License-Identifier: MIT */
/*
 * The optional confinement layers of the seccomp backend (sandbox.c).
 */
#ifndef MOAT_SANDBOX_H
#define MOAT_SANDBOX_H

#include "backends/process/domain.h"

/* Put on every layer the host allows for @p role (none with
 * DOMAIN_BOOT_NO_SANDBOX in @p boot_flags). Returns the DOMAIN_LAYER_*
 * bits that are on. Never fails: a layer that cannot be had is off. */
unsigned sandbox_enter(enum domain_role role, unsigned boot_flags);

#endif
