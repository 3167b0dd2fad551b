/*
 * picovmm_plugin.h -- the picovmm device plugin ABI, version 1.1.
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
 * - Threads: picovmm calls create, destroy, every access and every event callback (ABI 1.1)
 *   from the machine's vCPU thread, one call at a time per instance; a plugin needs no locking
 *   unless it starts threads of its own. Host callbacks may be called only from inside a call
 *   picovmm made into the plugin.
 * - A call must not block: while it runs the guest is stopped, and so are --timeout and
 *   Ctrl-C, which end the run only when it returns. Wait for input with the events extension
 *   (picovmm.events/1), which calls back when a file descriptor is readable or a timer is due.
 * - stdin, stdout and the terminal are picovmm's (its serial port reads stdin and may put the
 *   terminal in raw mode; the guest's output goes to stdout). Log through host->log; watch
 *   stdin (fd 0) only in a machine without a serial port and without the live display.
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
#define PICOVMM_PLUGIN_ABI_MINOR 1u

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
     * its function table, or NULL when picovmm does not offer it. None in ABI 1.0; ABI 1.1
     * offers PICOVMM_EXT_IRQ, PICOVMM_EXT_EVENTS and PICOVMM_EXT_MACHINE (below). */
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
    uint32_t accesses;    /* PICOVMM_ACCESS_* bits, at least one; picovmm refuses others */
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

    /* Puts the device back in its power-on state, when the machine is reset. picovmm ends the
     * run when a guest resets the machine, so today it never calls it; may be NULL. */
    uint32_t (*reset)(void *instance);

    /* Port accesses: `offset` from the device's first port, `len` of 1, 2 or 4 bytes,
     * little-endian. For a read, `data` (owned by picovmm) arrives zeroed. May be NULL when
     * `accesses` lacks PICOVMM_ACCESS_PORT. An access wider than the ports left in the
     * device's range (a 2-byte `out` to a 1-port device) is split into byte accesses at
     * consecutive ports, as the ISA bus does: the device sees the bytes that fall in its
     * range, one at a time. */
    uint32_t (*port_read)(void *instance, uint16_t offset, uint8_t *data, uint32_t len);
    uint32_t (*port_write)(void *instance, uint16_t offset, const uint8_t *data, uint32_t len);

    /* MMIO accesses: `offset` from the device's base, `len` of 1, 2, 4 or 8 bytes. May be
     * NULL when `accesses` lacks PICOVMM_ACCESS_MMIO. */
    uint32_t (*mmio_read)(void *instance, uint64_t offset, uint8_t *data, uint32_t len);
    uint32_t (*mmio_write)(void *instance, uint64_t offset, const uint8_t *data, uint32_t len);

    /* Looks up an optional plugin capability by versioned id; NULL if none. May be NULL. */
    const void *(*get_extension)(void *instance, const char *id);
} picovmm_plugin_descriptor;

/* ---- ABI 1.1: host extensions, from host->get_extension(host->ctx, id) ---------------- */

/* Interrupt lines. A device's lines are its machine-file `irq` key (a number or a list of
 * PIC lines), numbered 0, 1... in that order. */
#define PICOVMM_EXT_IRQ "picovmm.irq/1"
typedef struct picovmm_irq_ext {
    uint32_t struct_size; /* sizeof(picovmm_irq_ext) as picovmm knows it */
    uint32_t reserved;
    /* How many lines the device has. */
    uint32_t (*line_count)(void *ctx);
    /* Drives line `line` high (`level` != 0) or low, as a level-triggered device (a UART)
     * does. PICOVMM_ERROR for a line the device does not have. */
    uint32_t (*set_level)(void *ctx, uint32_t line, uint32_t level);
    /* Raises and lowers line `line`: one edge (a timer tick). */
    uint32_t (*pulse)(void *ctx, uint32_t line);
} picovmm_irq_ext;

/* Waiting without blocking: picovmm watches file descriptors and keeps timers, and calls
 * `callback(instance, token)` on the vCPU thread, between guest instructions, never during
 * another call into the plugin. A watched descriptor is not watched again until its callback
 * returns: read what is there (make it O_NONBLOCK) and return; if data is left, the callback
 * comes again. Ids are never 0; 0 means the request was refused. */
#define PICOVMM_EXT_EVENTS "picovmm.events/1"
typedef void (*picovmm_event_fn)(void *instance, uint64_t token);
typedef struct picovmm_events_ext {
    uint32_t struct_size;
    uint32_t reserved;
    /* Calls back whenever `fd` (owned by the plugin, open until cancelled) is readable or
     * closed by its writer. */
    uint64_t (*watch_fd)(void *ctx, int32_t fd, picovmm_event_fn callback, uint64_t token);
    /* Calls back after `delay_ns`, then every `period_ns` (0: once). */
    uint64_t (*add_timer)(void *ctx, uint64_t delay_ns, uint64_t period_ns,
                          picovmm_event_fn callback, uint64_t token);
    /* Stops a watch or a timer; no callback for it starts afterwards. */
    uint32_t (*cancel)(void *ctx, uint64_t id);
} picovmm_events_ext;

/* The device's surroundings, its configuration, and the end of the run. */
#define PICOVMM_EXT_MACHINE "picovmm.machine/1"
#define PICOVMM_END_HALTED 0u  /* the run ends as a halt: exit status 0 */
#define PICOVMM_END_FAILURE 1u /* the run ends as a device failure: exit status 4 */
typedef struct picovmm_machine_ext {
    uint32_t struct_size;
    uint32_t reserved;
    /* The device's name on the board ("cmos-rtc0"). Valid until destroy. */
    picovmm_str (*instance_name)(void *ctx);
    /* The folder of the machine file (the current folder without one); relative paths in a
     * plugin's config mean this folder, as every path in a machine file does. */
    picovmm_str (*machine_dir)(void *ctx);
    /* The `config` table's values by dotted key ("uart.baud"): PICOVMM_OK and the value when
     * the key is there with that type, PICOVMM_ERROR otherwise. Strings stay valid until
     * destroy. (create's config_toml is the same table re-serialised: keys may be reordered.) */
    uint32_t (*config_int)(void *ctx, picovmm_str key, int64_t *value);
    uint32_t (*config_string)(void *ctx, picovmm_str key, picovmm_str *value);
    uint32_t (*config_bool)(void *ctx, picovmm_str key, uint32_t *value);
    /* PICOVMM_OK when `key` names a table. */
    uint32_t (*config_table)(void *ctx, picovmm_str key);
    /* Ends the run after the current call: PICOVMM_END_HALTED or PICOVMM_END_FAILURE, with a
     * message picovmm prints (and --stats-json records) as the device's. */
    void (*end_run)(void *ctx, uint32_t how, picovmm_str message);
} picovmm_machine_ext;

/* ---- ABI 1.1: plugin extensions, from descriptor.get_extension(instance, id) ---------- */

/* Device state, for snapshots: a machine with a plugin that lacks it cannot be snapshotted. */
#define PICOVMM_EXT_STATE "picovmm.state/1"
typedef struct picovmm_state_ext {
    uint32_t struct_size;
    uint32_t reserved;
    /* Writes the state into `buf` (`cap` bytes) and its length into `*len`; when `cap` is too
     * small, writes only the length needed into `*len` and returns PICOVMM_ERROR. */
    uint32_t (*save)(void *instance, uint8_t *buf, uint64_t cap, uint64_t *len);
    /* Puts the instance in a state `save` wrote (possibly by another process). */
    uint32_t (*load)(void *instance, const uint8_t *data, uint64_t len);
} picovmm_state_ext;

/* Layout checks: these sizes are part of the ABI. */
_Static_assert(sizeof(picovmm_irq_ext) == 32, "picovmm_irq_ext layout");
_Static_assert(sizeof(picovmm_events_ext) == 32, "picovmm_events_ext layout");
_Static_assert(sizeof(picovmm_machine_ext) == 64, "picovmm_machine_ext layout");
_Static_assert(sizeof(picovmm_state_ext) == 24, "picovmm_state_ext layout");
_Static_assert(sizeof(picovmm_str) == 16, "picovmm_str layout");
_Static_assert(sizeof(picovmm_host) == 56, "picovmm_host layout");
_Static_assert(sizeof(picovmm_plugin_descriptor) == 128, "picovmm_plugin_descriptor layout");

/* The one symbol a plugin exports. */
extern const picovmm_plugin_descriptor picovmm_plugin_entry;

#ifdef __cplusplus
}
#endif

#endif /* PICOVMM_PLUGIN_H */
