/* SPDX-License-Identifier: MIT */
/*
 * The fuzz seed corpus (the .bin files of tests/fuzz/corpus/SUBDIR) for unit tests
 * that check each seed is what its README says. The directory is found
 * next to the calling test's source: pass __FILE__ (CMake compiles with
 * absolute paths).
 */
#ifndef MOAT_TEST_SEEDS_H
#define MOAT_TEST_SEEDS_H

#include <stddef.h>
#include <stdint.h>

typedef void (*seed_fn)(const char *name, const uint8_t *data, size_t len, void *arg);

/* Call @p fn for every *.bin file of tests/fuzz/corpus/@p subdir (at most
 * 64 KiB of each is read); fails the test if the directory is missing.
 * @p test_file is the caller's __FILE__ (in tests/unit/). Returns the
 * number of seeds. */
unsigned seeds_each(const char *test_file, const char *subdir, seed_fn fn, void *arg);

#endif
