/*
 * The PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux >= 6.7), paired with io.lazymig.jni.PagemapScan:
 * the pages of a range reported as runs of pages sharing the same PAGE_IS_* categories, instead of
 * one 64-bit pagemap entry per page. Older kernels answer ENOTTY (pagemap has no ioctl there).
 */
#include "lm_util.h"

#include <stdint.h>
#include <sys/ioctl.h>

/*
 * The uapi of linux/fs.h since 6.7. The build host's headers may predate it (Debian 12 ships 6.1),
 * so the layout is spelled here; the kernel checks arg.size against its own struct.
 */
#ifndef PAGEMAP_SCAN
struct page_region {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};

struct pm_scan_arg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)
#endif

#define LM_PAGE_REGION_SIZE sizeof(struct page_region)

static const struct lm_constant pagemap_constants[] = {
    LM_CONST(PAGE_IS_WPALLOWED), LM_CONST(PAGE_IS_WRITTEN), LM_CONST(PAGE_IS_FILE),
    LM_CONST(PAGE_IS_PRESENT),   LM_CONST(PAGE_IS_SWAPPED), LM_CONST(PAGE_IS_PFNZERO),
    LM_CONST(PAGE_IS_HUGE),      LM_CONST(PAGE_IS_SOFT_DIRTY), LM_CONST(LM_PAGE_REGION_SIZE),
};

static jlong lm_pagemap_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, pagemap_constants, LM_ARRAY_SIZE(pagemap_constants), name);
}

/*
 * PAGEMAP_SCAN of [start, end) on the pagemap fd: the pages having any category of anyof_mask, as
 * page_regions (categories masked by return_mask) into vec[0..vec_len). Returns the number of
 * regions written, or -errno; walk_end[0] gets the address where the scan stopped (end when the
 * whole range was scanned, less when vec filled up).
 */
static jlong lm_pagemap_scan(JNIEnv *env, jclass cls, jint fd, jlong start, jlong end, jlong vec, jint vec_len,
                             jlong anyof_mask, jlong return_mask, jlongArray walk_end)
{
    (void)cls;
    if (vec_len <= 0 || (*env)->GetArrayLength(env, walk_end) != 1)
        return -EINVAL;
    struct pm_scan_arg arg = {
        .size = sizeof(arg),
        .start = (uint64_t)start,
        .end = (uint64_t)end,
        .vec = (uint64_t)vec,
        .vec_len = (uint64_t)vec_len,
        .category_anyof_mask = (uint64_t)anyof_mask,
        .return_mask = (uint64_t)return_mask,
    };
    long rc = LM_RETRY(ioctl(fd, PAGEMAP_SCAN, &arg));
    if (rc >= 0) {
        jlong stopped = (jlong)arg.walk_end;
        (*env)->SetLongArrayRegion(env, walk_end, 0, 1, &stopped);
    }
    return rc;
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_pagemap_constant },
    { "nativeScan", "(IJJJIJJ[J)J", (void *)lm_pagemap_scan },
};

int lm_pagemap_register(JNIEnv *env)
{
    return lm_register(env, "PagemapScan", methods, LM_ARRAY_SIZE(methods));
}
