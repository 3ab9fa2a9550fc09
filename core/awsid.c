/* awsid.c - the shapes of AWS identifiers. */
#include "core/awsid.h"

#include <string.h>

#define S_REGION_MAX 64

static bool s_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool s_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool wc_account_id_is_valid(const char *s)
{
    size_t i = 0;

    if (!s)
        return false;
    for (; s[i]; i++)
        if (i >= 12 || !s_digit(s[i]))
            return false;
    return i == 12;
}

bool wc_org_id_is_valid(const char *s)
{
    size_t i = 2;

    if (!s || s[0] != 'o' || s[1] != '-')
        return false;
    for (; s[i]; i++)
        if (i >= 2 + 32 || !(s_lower(s[i]) || s_digit(s[i])))
            return false;
    return i >= 2 + 10;
}

bool wc_region_is_valid(const char *r)
{
    size_t len, i = 0, groups = 0;

    if (!r || (len = strlen(r)) > S_REGION_MAX)
        return false;
    /* [a-z]{2} */
    if (len < 2 || !s_lower(r[0]) || !s_lower(r[1]))
        return false;
    i = 2;
    /* (-[a-z]+)+ */
    while (i < len && r[i] == '-' && i + 1 < len && s_lower(r[i + 1])) {
        i++;
        while (i < len && s_lower(r[i]))
            i++;
        groups++;
    }
    /* -[0-9]+$ */
    if (groups == 0 || i >= len || r[i] != '-' || i + 1 >= len)
        return false;
    for (i++; i < len; i++)
        if (!s_digit(r[i]))
            return false;
    return true;
}
