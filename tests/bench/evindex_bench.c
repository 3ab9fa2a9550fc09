/* evindex_bench.c - ingest micro-benchmark of the CloudTrail event stream
 * (issue 10): parse (wc_evstream_parse), filter and index (wc_evindex_add)
 * N synthetic but realistic EventBridge "AWS API Call via CloudTrail"
 * bodies on one thread; prints events/s and the index's memory against its
 * cap (and what malloc says it holds, mallinfo2, as a check of the count).
 *
 *   make evindex-bench                          (EVINDEX_BENCH_ARGS="-n 200000 --json")
 *   build/evindex_bench [-n N] [--max-mib M] [--retention-min R] [--rate EV_PER_S]
 *                       [--seed S] [--json] [--strict]
 *
 * Bodies: 8 shapes (EC2 AuthorizeSecurityGroupIngress, RunInstances with
 * its response, IAM PutRolePolicy with a policy document, S3
 * PutBucketTagging, Lambda UpdateFunctionConfiguration, RDS
 * ModifyDBInstance, a KMS service event, a read-only DescribeInstances),
 * 1-3 KB, 90% writes, half in an SNS envelope, 40 accounts x 4 regions,
 * IAM users, assumed roles (with their session context) and AWS services.
 * They are made in batches before the clock starts; event times advance at
 * --rate per second (default 20000) and "now" follows them, so the
 * retention and the byte cap both work as in production. The target is
 * >= 20,000 events/s (parse, filter, index) on one core with memory within
 * the cap; --strict exits 1 when it is missed.
 */
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/evindex.h"
#include "core/evstream.h"

#define S_BATCH 4096
#define S_T0 1714564800000LL /* 2024-05-01T12:00:00Z */
#define S_BODY_MAX 8192

static uint64_t s_rng = 0x9E3779B97F4A7C15ULL;

static uint32_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng >> 11);
}

static void s_printf(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf that gives up on truncation (a generator bug) */
static void s_printf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n)
        abort();
}

static double s_now_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const s_regions[] = {"eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2"};

struct gen {
    char account[16];
    const char *region;
    char when[WC_TIME_ISO_MAX];
    char eid[40];
    char identity[1024];
    char ua[200];
    char ip[48];
};

static void s_uuid(char *out, size_t n)
{
    s_printf(out, n, "%08x-%04x-4%03x-8%03x-%08x%04x", s_rand(), s_rand() & 0xffff,
             s_rand() & 0xfff, s_rand() & 0xfff, s_rand(), s_rand() & 0xffff);
}

static void s_identity(struct gen *g)
{
    unsigned k = s_rand() % 10;

    if (k < 3) {
        static const char *const users[] = {"alice", "bob", "carol", "dave", "erin"};
        const char *u = users[s_rand() % 5];

        s_printf(g->identity, sizeof(g->identity),
                 "{\"type\":\"IAMUser\",\"principalId\":\"AIDA%016X\",\"arn\":\"arn:aws:iam::%s:"
                 "user/%s\",\"accountId\":\"%s\",\"accessKeyId\":\"AKIA%016X\",\"userName\":"
                 "\"%s\"}",
                 s_rand(), g->account, u, g->account, s_rand(), u);
        s_printf(g->ua, sizeof(g->ua),
                 "aws-cli/2.15.40 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 "
                 "lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard");
        s_printf(g->ip, sizeof(g->ip), "198.51.100.%u", s_rand() % 250);
    } else if (k < 9) {
        static const char *const roles[] = {"terraform-deployer", "github-actions-deploy",
                                            "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                                            "karpenter"};
        const char *r = roles[s_rand() % 4];
        unsigned sess = s_rand();

        s_printf(g->identity, sizeof(g->identity),
                 "{\"type\":\"AssumedRole\",\"principalId\":\"AROA%016X:session-%08x\",\"arn\":"
                 "\"arn:aws:sts::%s:assumed-role/%s/session-%08x\",\"accountId\":\"%s\","
                 "\"accessKeyId\":\"ASIA%016X\",\"sessionContext\":{\"sessionIssuer\":{\"type\":"
                 "\"Role\",\"principalId\":\"AROA%016X\",\"arn\":\"arn:aws:iam::%s:role/%s\","
                 "\"accountId\":\"%s\",\"userName\":\"%s\"},\"webIdFederationData\":{},"
                 "\"attributes\":{\"creationDate\":\"%s\",\"mfaAuthenticated\":\"false\"}}}",
                 s_rand(), sess, g->account, r, sess, g->account, s_rand(), s_rand(),
                 g->account, r, g->account, r, g->when);
        s_printf(g->ua, sizeof(g->ua),
                 "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) "
                 "terraform-provider-aws/5.46.0 aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1");
        s_printf(g->ip, sizeof(g->ip), "203.0.113.%u", s_rand() % 250);
    } else {
        s_printf(g->identity, sizeof(g->identity),
                 "{\"type\":\"AWSService\",\"invokedBy\":\"autoscaling.amazonaws.com\"}");
        s_printf(g->ua, sizeof(g->ua), "autoscaling.amazonaws.com");
        s_printf(g->ip, sizeof(g->ip), "autoscaling.amazonaws.com");
    }
}

/* The detail (a CloudTrail record) of one event into out; its source. */
static const char *s_detail(struct gen *g, char *out, size_t n, bool *read_only)
{
    unsigned shape = s_rand() % 20;
    char common[2048], id1[40], id2[40];
    const char *src;

    *read_only = false;
    s_uuid(id1, sizeof(id1));
    s_uuid(id2, sizeof(id2));
    if (shape < 2) {
        *read_only = true;
        shape = 100;
    }
    s_printf(common, sizeof(common),
             "\"eventVersion\":\"1.10\",\"userIdentity\":%s,\"eventTime\":\"%s\","
             "\"sourceIPAddress\":\"%s\",\"userAgent\":\"%s\",\"requestID\":\"%s\","
             "\"eventID\":\"%s\",\"readOnly\":%s,\"managementEvent\":true,"
             "\"recipientAccountId\":\"%s\",\"eventCategory\":\"Management\","
             "\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\","
             "\"clientProvidedHostHeader\":\"service.%s.amazonaws.com\"}",
             g->identity, g->when, g->ip, g->ua, id1, g->eid, *read_only ? "true" : "false",
             g->account, g->region);
    switch (shape) {
    case 2: case 3: case 4: case 5: case 6:
        src = "ec2";
        s_printf(out, n,
                 "{%s,\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":"
                 "\"AuthorizeSecurityGroupIngress\",\"awsRegion\":\"%s\",\"eventType\":"
                 "\"AwsApiCall\",\"requestParameters\":{\"groupId\":\"sg-%08x%09x\","
                 "\"ipPermissions\":{\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":%u,"
                 "\"toPort\":%u,\"groups\":{},\"ipRanges\":{\"items\":[{\"cidrIp\":\"10.%u.0.0/16\","
                 "\"description\":\"office vpn\"}]},\"ipv6Ranges\":{},\"prefixListIds\":{}}]}},"
                 "\"responseElements\":{\"requestId\":\"%s\",\"_return\":true,"
                 "\"securityGroupRuleSet\":{\"items\":[{\"groupOwnerId\":\"%s\",\"groupId\":"
                 "\"sg-%08x%09x\",\"securityGroupRuleId\":\"sgr-%08x%09x\",\"isEgress\":false,"
                 "\"ipProtocol\":\"tcp\",\"fromPort\":443,\"toPort\":443,\"cidrIpv4\":"
                 "\"10.0.0.0/16\"}]}}}",
                 common, g->region, s_rand(), s_rand() % 0x10000000, s_rand() % 65535,
                 s_rand() % 65535, s_rand() % 250, id2, g->account, s_rand(),
                 s_rand() % 0x10000000, s_rand(), s_rand() % 0x10000000);
        break;
    case 7: case 8: case 9:
        src = "ec2";
        s_printf(out, n,
                 "{%s,\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"RunInstances\","
                 "\"awsRegion\":\"%s\",\"eventType\":\"AwsApiCall\",\"requestParameters\":"
                 "{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-%08x%09x\",\"minCount\":1,"
                 "\"maxCount\":1}]},\"instanceType\":\"m6i.large\",\"blockDeviceMapping\":{},"
                 "\"monitoring\":{\"enabled\":false},\"disableApiTermination\":false,"
                 "\"subnetId\":\"subnet-%08x%09x\",\"iamInstanceProfile\":{\"arn\":"
                 "\"arn:aws:iam::%s:instance-profile/karpenter-node\"},\"clientToken\":\"%s\"},"
                 "\"responseElements\":{\"requestId\":\"%s\",\"reservationId\":\"r-%08x%09x\","
                 "\"ownerId\":\"%s\",\"groupSet\":{},\"instancesSet\":{\"items\":[{\"instanceId\":"
                 "\"i-%08x%09x\",\"imageId\":\"ami-%08x%09x\",\"instanceState\":{\"code\":0,"
                 "\"name\":\"pending\"},\"privateDnsName\":\"ip-10-0-1-23.%s.compute.internal\","
                 "\"amiLaunchIndex\":0,\"productCodes\":{},\"instanceType\":\"m6i.large\","
                 "\"launchTime\":1714564800000,\"placement\":{\"availabilityZone\":\"%sa\","
                 "\"tenancy\":\"default\"},\"monitoring\":{\"state\":\"disabled\"},\"subnetId\":"
                 "\"subnet-%08x%09x\",\"vpcId\":\"vpc-%08x%09x\",\"privateIpAddress\":\"10.0.1.23\","
                 "\"groupSet\":{\"items\":[{\"groupId\":\"sg-%08x%09x\",\"groupName\":\"nodes\"}]},"
                 "\"networkInterfaceSet\":{\"items\":[{\"networkInterfaceId\":\"eni-%08x%09x\","
                 "\"subnetId\":\"subnet-%08x%09x\",\"vpcId\":\"vpc-%08x%09x\",\"status\":\"in-use\","
                 "\"macAddress\":\"0a:1b:2c:3d:4e:5f\",\"privateIpAddress\":\"10.0.1.23\"}]},"
                 "\"ebsOptimized\":true,\"enaSupport\":true,\"metadataOptions\":{\"state\":"
                 "\"pending\",\"httpTokens\":\"required\",\"httpPutResponseHopLimit\":2}}]}}}",
                 common, g->region, s_rand(), s_rand() % 0x10000000, s_rand(),
                 s_rand() % 0x10000000, g->account, id1, id2, s_rand(), s_rand() % 0x10000000,
                 g->account, s_rand(), s_rand() % 0x10000000, s_rand(), s_rand() % 0x10000000,
                 g->region, g->region, s_rand(), s_rand() % 0x10000000, s_rand(),
                 s_rand() % 0x10000000, s_rand(), s_rand() % 0x10000000, s_rand(),
                 s_rand() % 0x10000000, s_rand(), s_rand() % 0x10000000, s_rand(),
                 s_rand() % 0x10000000);
        break;
    case 10: case 11: case 12:
        src = "iam";
        s_printf(out, n,
                 "{%s,\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"PutRolePolicy\","
                 "\"awsRegion\":\"us-east-1\",\"eventType\":\"AwsApiCall\",\"requestParameters\":"
                 "{\"roleName\":\"app-%08x\",\"policyName\":\"inline-%04x\",\"policyDocument\":"
                 "\"{\\n  \\\"Version\\\": \\\"2012-10-17\\\",\\n  \\\"Statement\\\": [\\n    {\\n"
                 "      \\\"Effect\\\": \\\"Allow\\\",\\n      \\\"Action\\\": [\\\"s3:GetObject\\\","
                 " \\\"s3:PutObject\\\"],\\n      \\\"Resource\\\": \\\"arn:aws:s3:::data-%08x/*\\\""
                 "\\n    },\\n    {\\n      \\\"Effect\\\": \\\"Allow\\\",\\n      \\\"Action\\\": "
                 "\\\"kms:Decrypt\\\",\\n      \\\"Resource\\\": \\\"*\\\"\\n    }\\n  ]\\n}\"},"
                 "\"responseElements\":null}",
                 common, s_rand(), s_rand() & 0xffff, s_rand());
        break;
    case 13: case 14:
        src = "s3";
        s_printf(out, n,
                 "{%s,\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"PutBucketTagging\","
                 "\"awsRegion\":\"%s\",\"eventType\":\"AwsApiCall\",\"requestParameters\":"
                 "{\"bucketName\":\"data-%08x\",\"Host\":\"data-%08x.s3.%s.amazonaws.com\","
                 "\"tagging\":\"\",\"Tagging\":{\"xmlns\":\"http://s3.amazonaws.com/doc/2006-03-01/\","
                 "\"TagSet\":{\"Tag\":[{\"Key\":\"team\",\"Value\":\"payments\"},{\"Key\":"
                 "\"cost-center\",\"Value\":\"cc-%04u\"}]}}},\"responseElements\":null,"
                 "\"additionalEventData\":{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":"
                 "\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":0,\"AuthenticationMethod\":"
                 "\"AuthHeader\",\"x-amz-id-2\":\"Z2l2ZSBtZSBhIGJyZWFrIHRoaXMgaXMganVzdCBhIHRlc3Q=\","
                 "\"bytesTransferredOut\":0},\"resources\":[{\"accountId\":\"%s\",\"type\":"
                 "\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::data-%08x\"}]}",
                 common, g->region, s_rand(), s_rand(), g->region, s_rand() % 10000, g->account,
                 s_rand());
        break;
    case 15: case 16:
        src = "lambda";
        s_printf(out, n,
                 "{%s,\"eventSource\":\"lambda.amazonaws.com\",\"eventName\":"
                 "\"UpdateFunctionConfiguration20150331v2\",\"awsRegion\":\"%s\",\"eventType\":"
                 "\"AwsApiCall\",\"requestParameters\":{\"functionName\":\"orders-%08x\","
                 "\"timeout\":30,\"memorySize\":512,\"environment\":{}},\"responseElements\":"
                 "{\"functionName\":\"orders-%08x\",\"functionArn\":\"arn:aws:lambda:%s:%s:"
                 "function:orders-%08x\",\"runtime\":\"python3.12\",\"role\":\"arn:aws:iam::%s:"
                 "role/orders-lambda\",\"handler\":\"app.handler\",\"codeSize\":48213,"
                 "\"timeout\":30,\"memorySize\":512,\"lastModified\":\"%s\",\"codeSha256\":"
                 "\"q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c=\",\"version\":\"$LATEST\","
                 "\"tracingConfig\":{\"mode\":\"PassThrough\"},\"revisionId\":\"%s\",\"state\":"
                 "\"Active\",\"lastUpdateStatus\":\"InProgress\",\"packageType\":\"Zip\","
                 "\"architectures\":[\"arm64\"],\"ephemeralStorage\":{\"size\":512}}}",
                 common, g->region, s_rand(), s_rand(), g->region, g->account, s_rand(),
                 g->account, g->when, id2);
        break;
    case 17: case 18:
        src = "rds";
        s_printf(out, n,
                 "{%s,\"eventSource\":\"rds.amazonaws.com\",\"eventName\":\"ModifyDBInstance\","
                 "\"awsRegion\":\"%s\",\"eventType\":\"AwsApiCall\",\"requestParameters\":"
                 "{\"dBInstanceIdentifier\":\"db-%08x\",\"allocatedStorage\":200,"
                 "\"applyImmediately\":true,\"backupRetentionPeriod\":7},\"responseElements\":"
                 "{\"dBInstanceIdentifier\":\"db-%08x\",\"dBInstanceClass\":\"db.r6g.large\","
                 "\"engine\":\"postgres\",\"dBInstanceStatus\":\"available\",\"masterUsername\":"
                 "\"app\",\"allocatedStorage\":100,\"preferredBackupWindow\":\"03:00-04:00\","
                 "\"backupRetentionPeriod\":7,\"dBSubnetGroup\":{\"dBSubnetGroupName\":\"db-subnets\","
                 "\"vpcId\":\"vpc-%08x%09x\"},\"pendingModifiedValues\":{\"allocatedStorage\":200},"
                 "\"dbiResourceId\":\"db-%08X%08X\",\"dBInstanceArn\":\"arn:aws:rds:%s:%s:db:db-%08x\"}}",
                 common, g->region, s_rand(), s_rand(), s_rand(), s_rand() % 0x10000000,
                 s_rand(), s_rand(), g->region, g->account, s_rand());
        break;
    case 19:
        src = "kms";
        s_printf(out, n,
                 "{\"eventVersion\":\"1.10\",\"userIdentity\":{\"accountId\":\"%s\",\"invokedBy\":"
                 "\"kms.amazonaws.com\"},\"eventTime\":\"%s\",\"eventSource\":\"kms.amazonaws.com\","
                 "\"eventName\":\"RotateKey\",\"awsRegion\":\"%s\",\"sourceIPAddress\":"
                 "\"kms.amazonaws.com\",\"userAgent\":\"kms.amazonaws.com\",\"requestParameters\":"
                 "null,\"responseElements\":null,\"additionalEventData\":{\"keyId\":"
                 "\"arn:aws:kms:%s:%s:key/%s\"},\"eventID\":\"%s\",\"readOnly\":false,"
                 "\"resources\":[{\"accountId\":\"%s\",\"type\":\"AWS::KMS::Key\",\"ARN\":"
                 "\"arn:aws:kms:%s:%s:key/%s\"}],\"eventType\":\"AwsServiceEvent\","
                 "\"managementEvent\":true,\"recipientAccountId\":\"%s\",\"eventCategory\":"
                 "\"Management\"}",
                 g->account, g->when, g->region, g->region, g->account, id2, g->eid, g->account,
                 g->region, g->account, id2, g->account);
        break;
    default:
        src = "ec2";
        s_printf(out, n,
                 "{%s,\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"DescribeInstances\","
                 "\"awsRegion\":\"%s\",\"eventType\":\"AwsApiCall\",\"requestParameters\":"
                 "{\"instancesSet\":{},\"filterSet\":{\"items\":[{\"name\":\"instance-state-name\","
                 "\"valueSet\":{\"items\":[{\"value\":\"running\"}]}}]}},\"responseElements\":null}",
                 common, g->region);
        break;
    }
    return src;
}

/* JSON-escape src into out (for the SNS Message string). */
static void s_escape(const char *src, char *out, size_t n)
{
    size_t o = 0;

    for (; *src && o + 3 < n; src++) {
        if (*src == '"' || *src == '\\')
            out[o++] = '\\';
        out[o++] = *src;
    }
    out[o] = '\0';
}

static char *s_body(uint64_t i, int64_t t_ms, bool *read_only)
{
    static char detail[S_BODY_MAX], ev[S_BODY_MAX], esc[2 * S_BODY_MAX];
    struct gen g;
    const char *src;
    char *body = malloc(3 * S_BODY_MAX);

    if (!body)
        abort();
    memset(&g, 0, sizeof(g));
    s_printf(g.account, sizeof(g.account), "%012llu",
             (unsigned long long)(100000000000ULL + (s_rand() % 40) * 7919));
    g.region = s_regions[s_rand() % 4];
    wc_time_format_iso8601(t_ms / 1000 * 1000, g.when);
    s_uuid(g.eid, sizeof(g.eid));
    s_identity(&g);
    src = s_detail(&g, detail, sizeof(detail), read_only);
    s_printf(ev, sizeof(ev),
             "{\"version\":\"0\",\"id\":\"%08llx-0000-4000-8000-%012llx\",\"detail-type\":"
             "\"AWS API Call via CloudTrail\",\"source\":\"aws.%s\",\"account\":\"%s\","
             "\"time\":\"%s\",\"region\":\"%s\",\"resources\":[],\"detail\":%s}",
             (unsigned long long)i, (unsigned long long)i, src, g.account, g.when, g.region,
             detail);
    if (i % 2) {
        s_escape(ev, esc, sizeof(esc));
        s_printf(body, 3 * S_BODY_MAX,
                     "{\"Type\":\"Notification\",\"MessageId\":\"%08llx-1111-4000-8000-000000000000\","
                     "\"TopicArn\":\"arn:aws:sns:eu-west-1:999988887777:cloudtrail-events\","
                     "\"Message\":\"%s\",\"Timestamp\":\"%s\",\"SignatureVersion\":\"1\","
                     "\"Signature\":\"EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkh"
                     "RS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IK"
                     "vO61GWB6jI9b5+gLPoBc1Q=\",\"SigningCertURL\":\"https://sns.eu-west-1.amazonaws.com/"
                     "SimpleNotificationService-0000000000000000000000.pem\",\"UnsubscribeURL\":"
                     "\"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe\"}",
                     (unsigned long long)i, esc, g.when);
    } else {
        s_printf(body, 3 * S_BODY_MAX, "%s", ev);
    }
    return body;
}

static size_t s_malloc_used(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

int main(int argc, char **argv)
{
    uint64_t n = 100000, rate = 20000;
    size_t max_mib = 64, retention_min = 30, used0, used1;
    bool json = false, strict = false;
    struct wc_evindex_options o = {0};
    struct wc_evindex *x;
    struct wc_evindex_stats st;
    char **batch = NULL;
    size_t body_bytes = 0, kinds[WC_EVSTREAM_SNS_CONTROL + 1] = {0}, failed = 0;
    double wall = 0, cpu = 0, rate_wall, rate_cpu;
    uint64_t done = 0;
    int64_t now = S_T0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--max-mib") && i + 1 < argc)
            max_mib = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--retention-min") && i + 1 < argc)
            retention_min = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            rate = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            s_rng = strtoull(argv[++i], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--strict"))
            strict = true;
        else {
            fprintf(stderr,
                    "usage: %s [-n N] [--max-mib M] [--retention-min R] [--rate EV_PER_S] "
                    "[--seed S] [--json] [--strict]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!n || !rate || !max_mib || !retention_min) {
        fprintf(stderr, "%s: -n, --rate, --max-mib and --retention-min must be > 0\n", argv[0]);
        return 2;
    }
    o.max_bytes = max_mib * 1024 * 1024;
    o.retention_ms = (int64_t)retention_min * 60 * 1000;
    if (!(batch = calloc(S_BATCH, sizeof(*batch))))
        return 1;
    used0 = s_malloc_used();
    if (!(x = wc_evindex_new(&o))) {
        fprintf(stderr, "%s: wc_evindex_new failed\n", argv[0]);
        return 1;
    }

    while (done < n) {
        size_t k = n - done < S_BATCH ? (size_t)(n - done) : S_BATCH;
        double w0, c0;

        /* made before the clock starts */
        for (size_t i = 0; i < k; i++) {
            bool ro;
            int64_t t = S_T0 + (int64_t)((done + i) * 1000 / rate);

            /* CloudTrail delivers late and out of order: up to 2 minutes */
            batch[i] = s_body(done + i, t - (int64_t)(s_rand() % 120000), &ro);
            body_bytes += strlen(batch[i]);
        }
        w0 = s_now_s(CLOCK_MONOTONIC);
        c0 = s_now_s(CLOCK_PROCESS_CPUTIME_ID);
        for (size_t i = 0; i < k; i++) {
            struct wc_evstream_msg m = WC_EVSTREAM_MSG_INIT;
            char err[160];

            now = S_T0 + (int64_t)((done + i) * 1000 / rate) + 5000;
            if (wc_evstream_parse(wc_str_from_cstr(batch[i]), &m, err, sizeof(err)) != WC_OK) {
                if (failed++ == 0)
                    fprintf(stderr, "first parse failure: %s\n", err);
                continue;
            }
            kinds[m.kind]++;
            if (m.kind == WC_EVSTREAM_EVENT &&
                wc_evindex_add(x, &m.event, now, NULL, NULL) != WC_OK)
                failed++;
            wc_evstream_msg_clean_up(&m);
        }
        cpu += s_now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        wall += s_now_s(CLOCK_MONOTONIC) - w0;
        for (size_t i = 0; i < k; i++) {
            free(batch[i]);
            batch[i] = NULL;
        }
        done += k;
    }
    free(batch);
    wc_evindex_get_stats(x, &st);
    used1 = s_malloc_used();
    rate_wall = wall > 0 ? (double)n / wall : 0;
    rate_cpu = cpu > 0 ? (double)n / cpu : 0;

    if (json) {
        printf("{\"messages\":%llu,\"mean_body_bytes\":%.0f,\"events_per_s_wall\":%.0f,"
               "\"events_per_s_cpu\":%.0f,\"indexed\":%zu,\"read_only\":%zu,\"other\":%zu,"
               "\"failed\":%zu,\"held\":%zu,\"bytes\":%zu,\"max_bytes\":%zu,"
               "\"malloc_bytes\":%zu,\"evicted\":%llu,\"expired\":%llu,\"duplicates\":%llu,"
               "\"target_events_per_s\":20000,\"met\":%s}\n",
               (unsigned long long)n, (double)body_bytes / (double)n, rate_wall, rate_cpu,
               kinds[WC_EVSTREAM_EVENT], kinds[WC_EVSTREAM_READ_ONLY],
               n - kinds[WC_EVSTREAM_EVENT] - kinds[WC_EVSTREAM_READ_ONLY] - failed, failed,
               st.events, st.bytes, st.max_bytes, used1 - used0,
               (unsigned long long)st.evicted, (unsigned long long)st.expired,
               (unsigned long long)st.duplicates,
               rate_cpu >= 20000 && st.bytes <= st.max_bytes ? "true" : "false");
    } else {
        printf("evindex-bench: %llu messages, mean %.0f bytes (half in SNS), one thread\n",
               (unsigned long long)n, (double)body_bytes / (double)n);
        printf("  parse+filter+index: %.0f events/s (wall %.2f s), %.0f events/s (CPU %.2f s)\n",
               rate_wall, wall, rate_cpu, cpu);
        printf("  kept %zu writes, %zu read-only filtered, %zu failed\n",
               kinds[WC_EVSTREAM_EVENT], kinds[WC_EVSTREAM_READ_ONLY], failed);
        printf("  index: %zu events held, %.1f MiB of a %.1f MiB cap (malloc holds %.1f MiB), "
               "%llu evicted for bytes, %llu expired\n",
               st.events, (double)st.bytes / 1048576.0, (double)st.max_bytes / 1048576.0,
               (double)(used1 - used0) / 1048576.0, (unsigned long long)st.evicted,
               (unsigned long long)st.expired);
        printf("  target >= 20000 events/s on one core within the cap: %s\n",
               rate_cpu >= 20000 && st.bytes <= st.max_bytes ? "met" : "MISSED");
    }
    wc_evindex_destroy(x);
    if (failed)
        return 1;
    return strict && !(rate_cpu >= 20000 && st.bytes <= st.max_bytes) ? 1 : 0;
}
