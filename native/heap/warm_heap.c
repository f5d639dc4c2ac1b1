// autoresearch_heap.node: makes part of the heap resident on a second thread while libtorch
// loads, so that a training process's first step does not pay for its first touches.
//
// Why: the first step writes a few hundred MB that no step wrote before, and a first write to a
// page costs a page fault. On some virtual machines that is ~4-6 us a page (a first step of
// ~1.2 s against ~0.45 s for the next), and MADV_POPULATE_WRITE alone halves it at best: only a
// write from user space makes the page cheap. Loading libtorch takes ~0.7 s on one core, with
// the other idle; this module, which does not link libtorch and so loads in milliseconds,
// starts before it.
//
// How: blocks of 16 MB are taken from the main heap on the calling (main) thread, and a second
// thread populates and writes each block, then frees it. The freed blocks stay in the heap for
// libtorch's and the steps' allocations to reuse: start() makes the malloc settings that the
// addon makes when it loads (native/runtime/allocator.cc: no mmap'd blocks, no trimming, one
// arena) first. Linux with glibc only; elsewhere start() returns false and does nothing.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <stddef.h>
#include <stdint.h>

#if defined(__linux__) && defined(__GLIBC__)
#define AR_WARM_HEAP 1
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define BLOCK_BYTES ((size_t)16 << 20)
#define MAX_BLOCKS 1024

static char* blocks[MAX_BLOCKS];
static size_t block_count;
static size_t warmed_bytes;
static pthread_t warmer;
static int warming;

static void* warm_blocks(void* unused) {
  (void)unused;
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  for (size_t b = 0; b < block_count; b++) {
    const uintptr_t start = ((uintptr_t)blocks[b] + page - 1) & ~(page - 1);
    const uintptr_t end = (uintptr_t)blocks[b] + BLOCK_BYTES;
    madvise((void*)start, end - start, MADV_POPULATE_WRITE);  // EINVAL before Linux 5.14: the writes do it
    for (uintptr_t p = start; p < end; p += page) *(volatile char*)p = 0;
    free(blocks[b]);
    warmed_bytes += BLOCK_BYTES;
  }
  return NULL;
}
#endif

// start(megabytes): begins warming that much heap; true if it started.
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double megabytes = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_double(env, argv[0], &megabytes) != napi_ok || !(megabytes >= 0)) {
    napi_throw_type_error(env, NULL, "start(megabytes): a number >= 0 is required");
    return NULL;
  }
  int started = 0;
#ifdef AR_WARM_HEAP
  if (!warming && megabytes > 0) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
    mallopt(M_ARENA_MAX, 1);
    const double wanted = megabytes * (1 << 20) / (double)BLOCK_BYTES;
    const size_t count = wanted >= MAX_BLOCKS ? MAX_BLOCKS : (size_t)(wanted + 0.5);
    block_count = 0;
    warmed_bytes = 0;
    while (block_count < count && (blocks[block_count] = malloc(BLOCK_BYTES)) != NULL) block_count++;
    warming = block_count > 0 && pthread_create(&warmer, NULL, warm_blocks, NULL) == 0;
    if (!warming) {
      while (block_count > 0) free(blocks[--block_count]);
    }
    started = warming;
  }
#endif
  napi_value result;
  napi_get_boolean(env, started, &result);
  return result;
}

// finish(): waits for the warming thread; returns the megabytes it made resident (0 if none).
static napi_value finish(napi_env env, napi_callback_info info) {
  (void)info;
  double megabytes = 0;
#ifdef AR_WARM_HEAP
  if (warming) {
    pthread_join(warmer, NULL);
    warming = 0;
    megabytes = (double)warmed_bytes / (1 << 20);
  }
#endif
  napi_value result;
  napi_create_double(env, megabytes, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"finish", NULL, finish, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(autoresearch_heap, init)
