/* latch.c -- the benchmark's plugin: a one-byte port latch, the cheapest device a plugin can
 * be, so that the measurement is the cost of reaching a plugin. Built by bench/run. */
#include <stdint.h>
#include <stdlib.h>
#include "picovmm_plugin.h"

static void *create(const picovmm_host *host, picovmm_str config, char *error, uint64_t cap,
                    uint64_t *len) {
    (void)host; (void)config; (void)error; (void)cap; (void)len;
    return calloc(1, 1);
}
static void destroy(void *instance) { free(instance); }
static uint32_t port_read(void *instance, uint16_t offset, uint8_t *data, uint32_t len) {
    (void)offset; (void)len;
    data[0] = *(uint8_t *)instance;
    return PICOVMM_OK;
}
static uint32_t port_write(void *instance, uint16_t offset, const uint8_t *data, uint32_t len) {
    (void)offset; (void)len;
    *(uint8_t *)instance = data[0];
    return PICOVMM_OK;
}

const picovmm_plugin_descriptor picovmm_plugin_entry = {
    .magic = PICOVMM_PLUGIN_MAGIC,
    .struct_size = sizeof(picovmm_plugin_descriptor),
    .abi_major = PICOVMM_PLUGIN_ABI_MAJOR,
    .abi_minor = PICOVMM_PLUGIN_ABI_MINOR,
    .accesses = PICOVMM_ACCESS_PORT,
    .name = {"bench-latch", 11},
    .version = {"1.0.0", 5},
    .description = {"benchmark latch", 15},
    .create = create,
    .destroy = destroy,
    .port_read = port_read,
    .port_write = port_write,
};
