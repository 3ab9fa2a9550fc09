#include "core/hash128.h"

#include <string.h>

#define S_C1 0x87c37b91114253d5ULL
#define S_C2 0x4cf5ad432745937fULL

static uint64_t s_rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t s_fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* Little-endian 64-bit read, whatever the host's byte order. */
static uint64_t s_le64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t s_mix_k1(uint64_t k1)
{
    k1 *= S_C1;
    k1 = s_rotl(k1, 31);
    return k1 * S_C2;
}

static uint64_t s_mix_k2(uint64_t k2)
{
    k2 *= S_C2;
    k2 = s_rotl(k2, 33);
    return k2 * S_C1;
}

static void s_block(struct wc_hash128_state *s, const unsigned char *p)
{
    s->h1 ^= s_mix_k1(s_le64(p));
    s->h1 = s_rotl(s->h1, 27);
    s->h1 += s->h2;
    s->h1 = s->h1 * 5 + 0x52dce729;
    s->h2 ^= s_mix_k2(s_le64(p + 8));
    s->h2 = s_rotl(s->h2, 31);
    s->h2 += s->h1;
    s->h2 = s->h2 * 5 + 0x38495ab5;
}

void wc_hash128_init(struct wc_hash128_state *s, uint32_t seed)
{
    memset(s, 0, sizeof(*s));
    s->h1 = seed;
    s->h2 = seed;
}

void wc_hash128_update(struct wc_hash128_state *s, const void *data, size_t len)
{
    const unsigned char *p = data;

    if (len == 0)
        return;
    s->len += len;
    if (s->ntail > 0) {
        size_t take = sizeof(s->tail) - s->ntail;

        if (take > len)
            take = len;
        memcpy(s->tail + s->ntail, p, take);
        s->ntail += take;
        p += take;
        len -= take;
        if (s->ntail < sizeof(s->tail))
            return;
        s_block(s, s->tail);
        s->ntail = 0;
    }
    for (; len >= 16; p += 16, len -= 16)
        s_block(s, p);
    memcpy(s->tail, p, len);
    s->ntail = len;
}

struct wc_hash128 wc_hash128_final(struct wc_hash128_state *s)
{
    uint64_t k1 = 0, k2 = 0, h1 = s->h1, h2 = s->h2;
    size_t n = s->ntail;

    for (size_t i = n; i > 8; i--)
        k2 ^= (uint64_t)s->tail[i - 1] << ((i - 9) * 8);
    if (n > 8)
        h2 ^= s_mix_k2(k2);
    for (size_t i = n < 8 ? n : 8; i > 0; i--)
        k1 ^= (uint64_t)s->tail[i - 1] << ((i - 1) * 8);
    if (n > 0)
        h1 ^= s_mix_k1(k1);
    h1 ^= s->len;
    h2 ^= s->len;
    h1 += h2;
    h2 += h1;
    h1 = s_fmix(h1);
    h2 = s_fmix(h2);
    h1 += h2;
    h2 += h1;
    memset(s, 0, sizeof(*s));
    return (struct wc_hash128){h1, h2};
}

struct wc_hash128 wc_hash128(const void *data, size_t len, uint32_t seed)
{
    struct wc_hash128_state s;

    wc_hash128_init(&s, seed);
    wc_hash128_update(&s, data, len);
    return wc_hash128_final(&s);
}
