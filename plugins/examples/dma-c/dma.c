/*
 * dma.c -- picovmm example plugin in C: a small DMA engine on MMIO that reads and writes
 * guest memory through the host's callbacks. Built against include/picovmm_plugin.h only:
 *
 *   cc -shared -fPIC -O2 -I ../../api/include \
 *      -Wl,--version-script=../../api/picovmm_plugin.map -o libdma.so dma.c
 *
 * Registers (32-bit, little-endian, at offsets from the device's MMIO base):
 *   0x00 ADDR    guest-physical address           read/write
 *   0x04 LEN     byte count (at most 64 KiB)       read/write
 *   0x08 FILL    the byte CMD_FILL writes          read/write
 *   0x0C CMD     1 = checksum, 2 = fill            write
 *   0x10 RESULT  the checksum: sum of the bytes    read
 *   0x14 STATUS  0 = done, 1 = outside guest RAM   read
 *   0x18 ID      "DMA1"                            read
 * Config (TOML): `seed = N` starts every checksum at N (default 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picovmm_plugin.h"

enum {
    REG_ADDR = 0x00, REG_LEN = 0x04, REG_FILL = 0x08, REG_CMD = 0x0C,
    REG_RESULT = 0x10, REG_STATUS = 0x14, REG_ID = 0x18,
};
enum { CMD_CHECKSUM = 1, CMD_FILL = 2 };
enum { STATUS_DONE = 0, STATUS_OUTSIDE_RAM = 1 };
#define DMA_ID 0x31414d44u /* "DMA1" */
#define MAX_LEN 0x10000u

struct dma {
    const picovmm_host *host;
    uint32_t seed, addr, len, fill, result, status;
    uint8_t buffer[MAX_LEN];
};

static void log_msg(struct dma *d, uint32_t level, const char *text) {
    picovmm_str s = {text, strlen(text)};
    d->host->log(d->host->ctx, level, s);
}

static void run_command(struct dma *d, uint32_t cmd) {
    uint32_t len = d->len > MAX_LEN ? MAX_LEN : d->len;
    if (cmd == CMD_CHECKSUM) {
        if (d->host->read_guest(d->host->ctx, d->addr, d->buffer, len) != PICOVMM_OK) {
            d->status = STATUS_OUTSIDE_RAM;
            return;
        }
        uint32_t sum = d->seed;
        for (uint32_t i = 0; i < len; i++) sum += d->buffer[i];
        d->result = sum;
        d->status = STATUS_DONE;
    } else if (cmd == CMD_FILL) {
        memset(d->buffer, (int)(d->fill & 0xff), len);
        d->status = d->host->write_guest(d->host->ctx, d->addr, d->buffer, len) == PICOVMM_OK
                        ? STATUS_DONE : STATUS_OUTSIDE_RAM;
    }
}

static void *dma_create(const picovmm_host *host, picovmm_str config, char *error,
                        uint64_t error_cap, uint64_t *error_len) {
    char text[256] = {0};
    uint32_t seed = 0;
    if (config.len >= sizeof text) {
        *error_len = (uint64_t)snprintf(error, error_cap, "config is too long");
        return NULL;
    }
    memcpy(text, config.ptr, config.len);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned value;
        if (sscanf(line, " seed = %u", &value) == 1) {
            seed = value;
        } else if (line[strspn(line, " \t")] != '\0') {
            int n = snprintf(error, error_cap, "unknown config line \"%s\"; allowed: seed = N", line);
            *error_len = n < 0 ? 0 : ((uint64_t)n < error_cap ? (uint64_t)n : error_cap);
            return NULL;
        }
    }
    struct dma *d = calloc(1, sizeof *d);
    if (!d) {
        *error_len = (uint64_t)snprintf(error, error_cap, "out of memory");
        return NULL;
    }
    d->host = host;
    d->seed = seed;
    log_msg(d, PICOVMM_LOG_DEBUG, "dma: created");
    return d;
}

static void dma_destroy(void *instance) { free(instance); }

static uint32_t dma_reset(void *instance) {
    struct dma *d = instance;
    d->addr = d->len = d->fill = d->result = d->status = 0;
    return PICOVMM_OK;
}

static uint32_t dma_mmio_read(void *instance, uint64_t offset, uint8_t *data, uint32_t len) {
    struct dma *d = instance;
    uint32_t value;
    switch (offset) {
    case REG_ADDR: value = d->addr; break;
    case REG_LEN: value = d->len; break;
    case REG_FILL: value = d->fill; break;
    case REG_RESULT: value = d->result; break;
    case REG_STATUS: value = d->status; break;
    case REG_ID: value = DMA_ID; break;
    default:
        log_msg(d, PICOVMM_LOG_ERROR, "dma: read from a register that does not exist");
        return PICOVMM_ERROR;
    }
    if (len != 4) {
        log_msg(d, PICOVMM_LOG_ERROR, "dma: registers are 32 bits wide");
        return PICOVMM_ERROR;
    }
    memcpy(data, &value, 4);
    return PICOVMM_OK;
}

static uint32_t dma_mmio_write(void *instance, uint64_t offset, const uint8_t *data, uint32_t len) {
    struct dma *d = instance;
    uint32_t value;
    if (len != 4) {
        log_msg(d, PICOVMM_LOG_ERROR, "dma: registers are 32 bits wide");
        return PICOVMM_ERROR;
    }
    memcpy(&value, data, 4);
    switch (offset) {
    case REG_ADDR: d->addr = value; break;
    case REG_LEN: d->len = value; break;
    case REG_FILL: d->fill = value; break;
    case REG_CMD: run_command(d, value); break;
    default:
        log_msg(d, PICOVMM_LOG_ERROR, "dma: write to a register that does not exist");
        return PICOVMM_ERROR;
    }
    return PICOVMM_OK;
}

const picovmm_plugin_descriptor picovmm_plugin_entry = {
    .magic = PICOVMM_PLUGIN_MAGIC,
    .struct_size = sizeof(picovmm_plugin_descriptor),
    .abi_major = PICOVMM_PLUGIN_ABI_MAJOR,
    .abi_minor = PICOVMM_PLUGIN_ABI_MINOR,
    .accesses = PICOVMM_ACCESS_MMIO,
    .name = {"dma", 3},
    .version = {"1.0.0", 5},
    .description = {"DMA engine: checksums and fills guest memory", 44},
    .create = dma_create,
    .destroy = dma_destroy,
    .reset = dma_reset,
    .port_read = NULL,
    .port_write = NULL,
    .mmio_read = dma_mmio_read,
    .mmio_write = dma_mmio_write,
    .get_extension = NULL,
};
