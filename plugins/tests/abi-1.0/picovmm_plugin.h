/*
 * picovmm_plugin.h -- the picovmm device plugin ABI, version 1.0.
 *
 * A plugin is a shared library that exports one const data symbol,
 * `picovmm_plugin_entry`, of type `picovmm_plugin_descriptor`. picovmm reads and validates it
 * (magic, struct size, ABI version) before calling anything in the library, then creates one
 * instance per `[[device]] type = "plugin"` in a machine file and routes the device's port
 * and MMIO accesses to it.
 *
 * Versioning: the major version changes only when a layout changes incompatibly; picovmm
 * refuses a plugin whose major differs from its own. Minor versions only add: new fields at
 * the end of a struct (whose `struct_size` tells which are there) and new extensions looked
 * up by name. picovmm loads a plugin whose minor is at most its own.
 *
 * Rules that hold everywhere:
 * - Integers are fixed width; there is no bool and no enum in a struct (uint32_t instead).
 * - Strings are UTF-8 with an explicit length (picovmm_str), not NUL-terminated, except
 *   extension ids, which are NUL-terminated ASCII.
 * - Memory is freed only by the side that allocated it.
 * - Threads: picovmm calls create, destroy and every access from the machine's vCPU thread,
 *   one call at a time per instance; a plugin needs no locking unless it starts threads of its
 *   own. Host callbacks may be called only from inside a call picovmm made into the plugin.
 * - A function returning uint32_t returns PICOVMM_OK or PICOVMM_ERROR. An access that returns
 *   PICOVMM_ERROR stops the machine with a guest-fault status (4), naming the plugin and the
 *   access; log the reason first with host->log.
 * - This header is for 64-bit x86 Linux (pointers are 8 bytes).
 */
#ifndef PICOVMM_PLUGIN_H
#define PICOVMM_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PICOVMM_PLUGIN_MAGIC 0x4d565650u /* "PVVM" in memory order */
#define PICOVMM_PLUGIN_ABI_MAJOR 1u
#define PICOVMM_PLUGIN_ABI_MINOR 0u

#define PICOVMM_OK 0u
#define PICOVMM_ERROR 1u

/* Which accesses a plugin serves (picovmm_plugin_descriptor.accesses). */
#define PICOVMM_ACCESS_PORT 1u
#define PICOVMM_ACCESS_MMIO 2u

/* Log levels (picovmm_host.log). */
#define PICOVMM_LOG_ERROR 1u
#define PICOVMM_LOG_WARN 2u
#define PICOVMM_LOG_INFO 3u
#define PICOVMM_LOG_DEBUG 4u

/* A UTF-8 string that the giver owns; valid for the duration of the call it is passed in,
 * or, in the descriptor, for as long as the library is loaded. */
typedef struct picovmm_str {
    const char *ptr;
    uint64_t len;
} picovmm_str;

/* What picovmm offers a plugin instance. Owned by picovmm, valid from create until destroy
 * returns. Every function takes `ctx` as its first argument. */
typedef struct picovmm_host {
    uint32_t struct_size; /* sizeof(picovmm_host) as picovmm knows it */
    uint16_t abi_major;
    uint16_t abi_minor;
    void *ctx; /* opaque: pass it back unchanged */

    /* Writes a line to picovmm's log (stderr), prefixed with the plugin's name. */
    void (*log)(void *ctx, uint32_t level, picovmm_str message);

    /* Copies `len` bytes of guest RAM at guest-physical `addr` into `buf` (owned by the
     * plugin). PICOVMM_ERROR, and nothing copied, if any byte is outside RAM. */
    uint32_t (*read_guest)(void *ctx, uint64_t addr, uint8_t *buf, uint64_t len);

    /* Copies `len` bytes from `buf` into guest RAM at `addr`; PICOVMM_ERROR, and nothing
     * written, if any byte is outside RAM. */
    uint32_t (*write_guest)(void *ctx, uint64_t addr, const uint8_t *buf, uint64_t len);

    /* Asks picovmm to end the run as isa-debug-exit does: exit status (value << 1) | 1.
     * The run stops after the current access returns. */
    void (*request_stop)(void *ctx, uint32_t value);

    /* Looks up an optional host capability by versioned id (e.g. "picovmm.irq/1"); returns
     * its function table, or NULL when picovmm does not offer it. None in ABI 1.0. */
    const void *(*get_extension)(void *ctx, const char *id);
} picovmm_host;

/* The plugin's exported description of itself. Static data owned by the library. */
/* The longest name, version or description a descriptor may give, in bytes. */
#define PICOVMM_MAX_STRING_LEN 4096

typedef struct picovmm_plugin_descriptor {
    uint32_t magic;       /* PICOVMM_PLUGIN_MAGIC */
    uint32_t struct_size; /* sizeof(picovmm_plugin_descriptor) as the plugin was built */
    uint16_t abi_major;   /* PICOVMM_PLUGIN_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;   /* PICOVMM_PLUGIN_ABI_MINOR the plugin was built against */
    uint32_t accesses;    /* PICOVMM_ACCESS_* bits */
    /* The descriptor's strings: static data of the library, at most 4096 bytes each
     * (PICOVMM_MAX_STRING_LEN). picovmm refuses a longer one, or one whose bytes are not all
     * readable, at load time, with a message; it never reads past them. */
    picovmm_str name;        /* short name, e.g. "cmos-rtc" */
    picovmm_str version;     /* the plugin's own version, e.g. "1.2.0" */
    picovmm_str description; /* one line */

    /* Creates an instance from the device's `config` table, given as TOML text (empty when the
     * machine file has none). Returns the instance, or NULL after writing a UTF-8 message of
     * at most `error_cap` bytes into `error` (owned by picovmm) and its length into
     * `*error_len`. `host` stays valid until destroy returns. */
    void *(*create)(const picovmm_host *host, picovmm_str config_toml, char *error,
                    uint64_t error_cap, uint64_t *error_len);

    /* Destroys an instance; nothing of it is used afterwards. */
    void (*destroy)(void *instance);

    /* Puts the device back in its power-on state. */
    uint32_t (*reset)(void *instance);

    /* Port accesses: `offset` from the device's first port, `len` of 1, 2 or 4 bytes,
     * little-endian. For a read, `data` (owned by picovmm) arrives zeroed. May be NULL when
     * `accesses` lacks PICOVMM_ACCESS_PORT. */
    uint32_t (*port_read)(void *instance, uint16_t offset, uint8_t *data, uint32_t len);
    uint32_t (*port_write)(void *instance, uint16_t offset, const uint8_t *data, uint32_t len);

    /* MMIO accesses: `offset` from the device's base, `len` of 1, 2, 4 or 8 bytes. May be
     * NULL when `accesses` lacks PICOVMM_ACCESS_MMIO. */
    uint32_t (*mmio_read)(void *instance, uint64_t offset, uint8_t *data, uint32_t len);
    uint32_t (*mmio_write)(void *instance, uint64_t offset, const uint8_t *data, uint32_t len);

    /* Looks up an optional plugin capability by versioned id; NULL if none. May be NULL. */
    const void *(*get_extension)(void *instance, const char *id);
} picovmm_plugin_descriptor;

/* Layout checks: these sizes are part of ABI 1.0. */
_Static_assert(sizeof(picovmm_str) == 16, "picovmm_str layout");
_Static_assert(sizeof(picovmm_host) == 56, "picovmm_host layout");
_Static_assert(sizeof(picovmm_plugin_descriptor) == 128, "picovmm_plugin_descriptor layout");

/* The one symbol a plugin exports. */
extern const picovmm_plugin_descriptor picovmm_plugin_entry;

#ifdef __cplusplus
}
#endif

#endif /* PICOVMM_PLUGIN_H */
