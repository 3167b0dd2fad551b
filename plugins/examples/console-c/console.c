/*
 * console.c -- a console device for picovmm, in C, on plugin ABI 1.1: the guest reads host
 * input through three ports, and the device raises its interrupt line when input is waiting.
 * It never blocks: picovmm watches the input for it (picovmm.events/1) and calls back when
 * bytes arrive, so --timeout and Ctrl-C end a run on time while the guest waits for input.
 *
 *   port +0  data     read: the next input byte (0 when none)
 *   port +1  status   read: bit 0 input waiting, bit 1 the input ended
 *   port +2  control  read/write: bit 0 interrupt while input is waiting or has ended
 *
 * Machine file:
 *   [[device]]
 *   type = "plugin"
 *   library = "console"
 *   port = 0x300
 *   ports = 3
 *   irq = 5
 *   config = { input = "-" }   # "-" (the default) is stdin; a path is relative to the machine file
 *   # at_end = "guest" (the default: status bit 1 tells the guest), "halt" (the run ends as a
 *   # halt) or "fail" (the run ends as a device failure)
 *
 * Build: cc -shared -fPIC -O2 -I plugins/api/include \
 *          -Wl,--version-script=plugins/api/picovmm_plugin.map -o libconsole.so console.c
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "picovmm_plugin.h"

#define BUFFER 4096

typedef struct console {
    const picovmm_host *host;
    const picovmm_irq_ext *irq;
    const picovmm_events_ext *events;
    int fd;
    int own_fd;      /* opened by us (closed in destroy), not stdin */
    uint64_t watch;  /* 0 while not watching (buffer full, or input ended) */
    int ended;
    int at_end; /* 0 guest, 1 halt, 2 fail */
    const picovmm_machine_ext *machine;
    uint8_t control;
    uint8_t buf[BUFFER];
    uint32_t head, count;
} console;

static picovmm_str str(const char *s) {
    picovmm_str r = {s, strlen(s)};
    return r;
}

static void say(console *c, uint32_t level, const char *text) {
    c->host->log(c->host->ctx, level, str(text));
}

/* The line is high while input waits, or once the input ended, and the guest asked for
 * interrupts: a UART's level (its line-status interrupt tells of the end). */
static void update_irq(console *c) {
    uint32_t level = (c->control & 1) && (c->count > 0 || c->ended);
    c->irq->set_level(c->host->ctx, 0, level);
}

static void on_input(void *instance, uint64_t token);

/* With at_end = "halt" or "fail": once the input ended and the guest has seen that nothing is
 * left (it read the status after the last byte), end the run, saying so with the device's
 * name on the board ("console0: the input ended"). */
static void maybe_end(console *c) {
    if (!c->ended || c->count || !c->at_end)
        return;
    char text[256];
    picovmm_str name = c->machine->instance_name(c->host->ctx);
    int n = snprintf(text, sizeof text, "%.*s: the input ended", (int)name.len, name.ptr);
    picovmm_str message = {text, n > 0 ? (uint64_t)n : 0};
    c->machine->end_run(c->host->ctx, c->at_end == 1 ? PICOVMM_END_HALTED : PICOVMM_END_FAILURE,
                        message);
    c->at_end = 0;
}

static void watch(console *c) {
    if (!c->watch && !c->ended && c->count < BUFFER)
        c->watch = c->events->watch_fd(c->host->ctx, c->fd, on_input, 0);
}

static void unwatch(console *c) {
    if (c->watch) {
        c->events->cancel(c->host->ctx, c->watch);
        c->watch = 0;
    }
}

/* picovmm says the input is readable: one read() cannot block now. */
static void on_input(void *instance, uint64_t token) {
    console *c = instance;
    (void)token;
    uint32_t tail = (c->head + c->count) % BUFFER;
    uint32_t room = BUFFER - c->count;
    uint32_t span = tail + room > BUFFER ? BUFFER - tail : room;
    ssize_t n = read(c->fd, c->buf + tail, span);
    if (n > 0) {
        c->count += (uint32_t)n;
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        c->ended = 1;
    }
    if (c->ended || c->count == BUFFER)
        unwatch(c); /* watched again when the guest makes room */
    update_irq(c);
    maybe_end(c);
}

static void *create(const picovmm_host *host, picovmm_str config, char *error, uint64_t cap,
                    uint64_t *error_len) {
    (void)config;
#define FAIL(msg)                                                                              \
    do {                                                                                       \
        *error_len = (uint64_t)snprintf(error, cap, "%s", msg);                                \
        free(c);                                                                               \
        return NULL;                                                                           \
    } while (0)
    console *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->host = host;
    c->irq = host->get_extension(host->ctx, PICOVMM_EXT_IRQ);
    c->events = host->get_extension(host->ctx, PICOVMM_EXT_EVENTS);
    const picovmm_machine_ext *machine = host->get_extension(host->ctx, PICOVMM_EXT_MACHINE);
    if (!c->irq || !c->events || !machine)
        FAIL("this picovmm lacks plugin ABI 1.1's extensions");
    if (c->irq->line_count(host->ctx) < 1)
        FAIL("the console needs an interrupt line: add irq = N to its [[device]] table");
    c->machine = machine;
    picovmm_str at_end;
    if (machine->config_string(host->ctx, str("at_end"), &at_end) == PICOVMM_OK) {
        if (at_end.len == 4 && !memcmp(at_end.ptr, "halt", 4))
            c->at_end = 1;
        else if (at_end.len == 4 && !memcmp(at_end.ptr, "fail", 4))
            c->at_end = 2;
        else if (!(at_end.len == 5 && !memcmp(at_end.ptr, "guest", 5)))
            FAIL("at_end must be \"guest\", \"halt\" or \"fail\"");
    }
    picovmm_str input = str("-");
    if (machine->config_string(host->ctx, str("input"), &input) != PICOVMM_OK &&
        machine->config_table(host->ctx, str("input")) == PICOVMM_OK)
        FAIL("input must be a path, or \"-\" for stdin");
    if (input.len == 1 && input.ptr[0] == '-') {
        c->fd = STDIN_FILENO;
    } else {
        /* Relative to the machine file's folder, as every path in a machine file is. */
        picovmm_str dir = machine->machine_dir(host->ctx);
        char path[4096];
        int n = input.ptr[0] == '/' || dir.len == 0
                    ? snprintf(path, sizeof path, "%.*s", (int)input.len, input.ptr)
                    : snprintf(path, sizeof path, "%.*s/%.*s", (int)dir.len, dir.ptr,
                               (int)input.len, input.ptr);
        if (n < 0 || (size_t)n >= sizeof path)
            FAIL("the input path is too long");
        c->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (c->fd < 0) {
            *error_len = (uint64_t)snprintf(error, cap, "cannot open input %s: %s", path,
                                            strerror(errno));
            free(c);
            return NULL;
        }
        c->own_fd = 1;
    }
    watch(c);
    if (!c->watch) {
        if (c->own_fd)
            close(c->fd);
        FAIL("picovmm refused to watch the input");
    }
    say(c, PICOVMM_LOG_DEBUG, "console: created");
    return c;
#undef FAIL
}

static void destroy(void *instance) {
    console *c = instance;
    unwatch(c);
    if (c->own_fd)
        close(c->fd);
    free(c);
}

static uint32_t port_read(void *instance, uint16_t offset, uint8_t *data, uint32_t len) {
    console *c = instance;
    if (len != 1)
        return PICOVMM_ERROR;
    switch (offset) {
    case 0:
        if (c->count) {
            data[0] = c->buf[c->head];
            c->head = (c->head + 1) % BUFFER;
            c->count--;
            if (c->count < BUFFER / 2)
                watch(c);
            update_irq(c);
        }
        return PICOVMM_OK;
    case 1:
        data[0] = (uint8_t)((c->count > 0) | ((c->ended && !c->count) << 1));
        maybe_end(c);
        return PICOVMM_OK;
    case 2:
        data[0] = c->control;
        return PICOVMM_OK;
    }
    return PICOVMM_ERROR;
}

static uint32_t port_write(void *instance, uint16_t offset, const uint8_t *data, uint32_t len) {
    console *c = instance;
    if (len != 1)
        return PICOVMM_ERROR;
    if (offset == 2) {
        c->control = data[0] & 1;
        update_irq(c);
    }
    return PICOVMM_OK; /* writes to data and status are ignored, as on a read-only port */
}

const picovmm_plugin_descriptor picovmm_plugin_entry = {
    .magic = PICOVMM_PLUGIN_MAGIC,
    .struct_size = sizeof(picovmm_plugin_descriptor),
    .abi_major = PICOVMM_PLUGIN_ABI_MAJOR,
    .abi_minor = PICOVMM_PLUGIN_ABI_MINOR,
    .accesses = PICOVMM_ACCESS_PORT,
    .name = {"console", 7},
    .version = {"1.0.0", 5},
    .description = {"host input by interrupt, without blocking", 41},
    .create = create,
    .destroy = destroy,
    .port_read = port_read,
    .port_write = port_write,
};
