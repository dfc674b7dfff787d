/* SPDX-License-Identifier: MIT */
/*
 * The byte pattern and hash the lwIP interop test sends and checks.
 *
 * Byte i of the stream for seed S is byte (i mod 8) of splitmix64 of block
 * i / 8, so any offset can be produced (and checked) without the bytes
 * before it, and a misplaced, repeated or lost segment shows up at the
 * exact offset where it happened. The whole stream is also hashed with
 * 64-bit FNV-1a, which both ends compute independently.
 *
 * Header-only (static functions) because both the moat side and the lwIP
 * side of the test use it and nothing else should.
 */
#ifndef MOAT_TEST_LWIP_PATTERN_H
#define MOAT_TEST_LWIP_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PATTERN_FNV_OFFSET 0xcbf29ce484222325ull
#define PATTERN_FNV_PRIME  0x100000001b3ull

static inline uint64_t pattern_block(uint64_t seed, uint64_t k)
{
    uint64_t z = seed + (k + 1u) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Write stream bytes [off, off + len) of @p seed to @p buf. */
static inline void pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint64_t pos = off + i, v = pattern_block(seed, pos / 8u);
        unsigned b = (unsigned)(pos % 8u);
        for (; b < 8u && i < len; b++, i++)
            buf[i] = (uint8_t)(v >> (8u * b));
    }
}

static inline uint64_t pattern_fnv(uint64_t h, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * PATTERN_FNV_PRIME;
    return h;
}

/* FNV-1a of the first @p total bytes of the stream. */
static inline uint64_t pattern_hash(uint64_t seed, uint64_t total)
{
    uint8_t chunk[4096];
    uint64_t h = PATTERN_FNV_OFFSET;
    for (uint64_t off = 0; off < total; off += sizeof(chunk)) {
        size_t n = total - off < sizeof(chunk) ? (size_t)(total - off) : sizeof(chunk);
        pattern_fill(seed, off, chunk, n);
        h = pattern_fnv(h, chunk, n);
    }
    return h;
}

/* A receiver's running check: count, hash, first offset that differs. */
struct pattern_check {
    uint64_t seed;
    uint64_t bytes;
    uint64_t hash;
    uint64_t mismatch_at;   /* UINT64_MAX: none so far */
};

static inline void pattern_check_init(struct pattern_check *c, uint64_t seed)
{
    c->seed = seed;
    c->bytes = 0;
    c->hash = PATTERN_FNV_OFFSET;
    c->mismatch_at = UINT64_MAX;
}

static inline void pattern_check_feed(struct pattern_check *c, const uint8_t *p, size_t len)
{
    uint8_t want[2048];
    size_t done = 0;
    c->hash = pattern_fnv(c->hash, p, len);
    while (done < len) {
        size_t n = len - done < sizeof(want) ? len - done : sizeof(want);
        if (c->mismatch_at == UINT64_MAX) {
            pattern_fill(c->seed, c->bytes + done, want, n);
            if (memcmp(want, p + done, n) != 0) {
                for (size_t i = 0; i < n; i++) {
                    if (want[i] != p[done + i]) {
                        c->mismatch_at = c->bytes + done + i;
                        break;
                    }
                }
            }
        }
        done += n;
    }
    c->bytes += len;
}

#endif
