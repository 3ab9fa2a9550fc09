/* hash128.h - a 128-bit non-cryptographic hash: MurmurHash3_x64_128
 * (Austin Appleby, public domain), computed over a stream of pieces so that
 * a key made of several strings needs no concatenated copy.
 *
 * Bit-for-bit the reference MurmurHash3_x64_128 on the concatenation of the
 * pieces (little-endian block reads whatever the host), so its published
 * SMHasher verification value (0x6384BA69) pins it; see tests/unit/test_dedup.c.
 * Not for adversarial keys or secrets: it is seeded but not keyed. With 128
 * bits, the chance that any two of n distinct keys collide is about
 * n^2 / 2^129 (1e-26 for a million keys).
 */
#ifndef WC_HASH128_H
#define WC_HASH128_H

#include <stddef.h>
#include <stdint.h>

struct wc_hash128 {
    uint64_t lo; /* the reference's h1 (first 8 output bytes, little-endian) */
    uint64_t hi; /* h2 */
};

/* Caller-owned streaming state (no allocation). */
struct wc_hash128_state {
    uint64_t h1, h2;
    uint64_t len;           /* bytes fed so far */
    unsigned char tail[16]; /* bytes not yet making a full block */
    size_t ntail;
};

void wc_hash128_init(struct wc_hash128_state *s, uint32_t seed);
void wc_hash128_update(struct wc_hash128_state *s, const void *data, size_t len);
/* The hash of everything fed since init; s is left unusable until init. */
struct wc_hash128 wc_hash128_final(struct wc_hash128_state *s);

/* One call: init, update, final. */
struct wc_hash128 wc_hash128(const void *data, size_t len, uint32_t seed);

#endif
