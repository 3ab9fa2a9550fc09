/* awsid.h - the shapes of AWS identifiers: one pure validator each, used by
 * config/, the AWS layer and the notification parser alike (a value one of
 * them accepts, the others accept too). No I/O. */
#ifndef WC_AWSID_H
#define WC_AWSID_H

#include <stdbool.h>

/* true for exactly 12 ASCII digits ("123456789012"). */
bool wc_account_id_is_valid(const char *account_id);

/* true for AWS Organizations ids: ^o-[a-z0-9]{10,32}$ ("o-a1b2c3d4e5"). */
bool wc_org_id_is_valid(const char *org_id);

/* true for names shaped like AWS regions, at most 64 bytes:
 * ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ("eu-west-1", "us-gov-west-1", "cn-north-1"). */
bool wc_region_is_valid(const char *region);

#endif
