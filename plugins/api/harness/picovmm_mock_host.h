/*
 * picovmm_mock_host.h -- a host for unit-testing a C plugin without picovmm or a VM: a
 * picovmm_host (ABI 1.1, with its irq, events and machine extensions) over plain memory that
 * records what the plugin asks for. Header-only: include it in one test program.
 *
 *   mock_host m;
 *   mock_host_init(&m);
 *   mock_set_lines(&m, 1);
 *   mock_set_string(&m, "input", "data.txt");
 *   void *dev = picovmm_plugin_entry.create(&m.host, (picovmm_str){"", 0}, err, sizeof err, &len);
 *   mock_fire_fd(&m, dev, fd);                 // as picovmm does when fd is readable
 *   assert(m.level[0] == 1);
 *
 * plugins/examples/console-c/console_test.c is a complete example.
 */
#ifndef PICOVMM_MOCK_HOST_H
#define PICOVMM_MOCK_HOST_H

#include <stdio.h>
#include <string.h>

#include "picovmm_plugin.h"

#define MOCK_MAX 16

typedef struct mock_event {
    uint64_t id;
    int live, timer, fd;
    uint64_t delay_ns, period_ns, token;
    picovmm_event_fn callback;
} mock_event;

typedef struct mock_config {
    const char *key;
    int kind; /* 1 integer, 2 string, 3 boolean, 4 table */
    int64_t integer;
    const char *string;
} mock_config;

typedef struct mock_host {
    picovmm_host host; /* give &m.host to the plugin's create */
    uint8_t memory[65536];
    char log[8192];
    size_t log_len;
    uint32_t lines, level[MOCK_MAX], pulses[MOCK_MAX];
    int stop_requested;
    uint32_t stop_value;
    int ended;
    uint32_t end_how;
    char end_message[256];
    mock_event events[MOCK_MAX];
    uint64_t next_id;
    mock_config config[MOCK_MAX];
    int config_count;
    const char *name, *dir;
} mock_host;

static mock_host *mock_of(void *ctx) { return (mock_host *)ctx; }

static void mock_log(void *ctx, uint32_t level, picovmm_str message) {
    mock_host *m = mock_of(ctx);
    int n = snprintf(m->log + m->log_len, sizeof m->log - m->log_len, "%u: %.*s\n", level,
                     (int)message.len, message.ptr);
    if (n > 0 && m->log_len + (size_t)n < sizeof m->log)
        m->log_len += (size_t)n;
}

static uint32_t mock_read_guest(void *ctx, uint64_t addr, uint8_t *buf, uint64_t len) {
    mock_host *m = mock_of(ctx);
    if (addr > sizeof m->memory || len > sizeof m->memory - addr)
        return PICOVMM_ERROR;
    memcpy(buf, m->memory + addr, len);
    return PICOVMM_OK;
}

static uint32_t mock_write_guest(void *ctx, uint64_t addr, const uint8_t *buf, uint64_t len) {
    mock_host *m = mock_of(ctx);
    if (addr > sizeof m->memory || len > sizeof m->memory - addr)
        return PICOVMM_ERROR;
    memcpy(m->memory + addr, buf, len);
    return PICOVMM_OK;
}

static void mock_request_stop(void *ctx, uint32_t value) {
    mock_of(ctx)->stop_requested = 1;
    mock_of(ctx)->stop_value = value;
}

static uint32_t mock_line_count(void *ctx) { return mock_of(ctx)->lines; }

static uint32_t mock_set_level(void *ctx, uint32_t line, uint32_t level) {
    mock_host *m = mock_of(ctx);
    if (line >= m->lines)
        return PICOVMM_ERROR;
    m->level[line] = level != 0;
    return PICOVMM_OK;
}

static uint32_t mock_pulse(void *ctx, uint32_t line) {
    mock_host *m = mock_of(ctx);
    if (line >= m->lines)
        return PICOVMM_ERROR;
    m->pulses[line]++;
    return PICOVMM_OK;
}

static uint64_t mock_add(mock_host *m, mock_event e) {
    for (int i = 0; i < MOCK_MAX; i++) {
        if (!m->events[i].live) {
            e.id = ++m->next_id;
            e.live = 1;
            m->events[i] = e;
            return e.id;
        }
    }
    return 0;
}

static uint64_t mock_watch_fd(void *ctx, int32_t fd, picovmm_event_fn cb, uint64_t token) {
    mock_event e = {0};
    e.fd = fd;
    e.callback = cb;
    e.token = token;
    return mock_add(mock_of(ctx), e);
}

static uint64_t mock_add_timer(void *ctx, uint64_t delay_ns, uint64_t period_ns,
                               picovmm_event_fn cb, uint64_t token) {
    mock_event e = {0};
    e.timer = 1;
    e.fd = -1;
    e.delay_ns = delay_ns;
    e.period_ns = period_ns;
    e.callback = cb;
    e.token = token;
    return mock_add(mock_of(ctx), e);
}

static uint32_t mock_cancel(void *ctx, uint64_t id) {
    mock_host *m = mock_of(ctx);
    for (int i = 0; i < MOCK_MAX; i++) {
        if (m->events[i].live && m->events[i].id == id) {
            m->events[i].live = 0;
            return PICOVMM_OK;
        }
    }
    return PICOVMM_ERROR;
}

static picovmm_str mock_str(const char *s) {
    picovmm_str r = {s ? s : "", s ? strlen(s) : 0};
    return r;
}

static picovmm_str mock_instance_name(void *ctx) { return mock_str(mock_of(ctx)->name); }
static picovmm_str mock_machine_dir(void *ctx) { return mock_str(mock_of(ctx)->dir); }

static mock_config *mock_find(void *ctx, picovmm_str key, int kind) {
    mock_host *m = mock_of(ctx);
    for (int i = 0; i < m->config_count; i++) {
        mock_config *c = &m->config[i];
        if (c->kind == kind && strlen(c->key) == key.len && !memcmp(c->key, key.ptr, key.len))
            return c;
    }
    return NULL;
}

static uint32_t mock_config_int(void *ctx, picovmm_str key, int64_t *value) {
    mock_config *c = mock_find(ctx, key, 1);
    if (!c)
        return PICOVMM_ERROR;
    *value = c->integer;
    return PICOVMM_OK;
}

static uint32_t mock_config_string(void *ctx, picovmm_str key, picovmm_str *value) {
    mock_config *c = mock_find(ctx, key, 2);
    if (!c)
        return PICOVMM_ERROR;
    *value = mock_str(c->string);
    return PICOVMM_OK;
}

static uint32_t mock_config_bool(void *ctx, picovmm_str key, uint32_t *value) {
    mock_config *c = mock_find(ctx, key, 3);
    if (!c)
        return PICOVMM_ERROR;
    *value = c->integer != 0;
    return PICOVMM_OK;
}

static uint32_t mock_config_table(void *ctx, picovmm_str key) {
    return mock_find(ctx, key, 4) ? PICOVMM_OK : PICOVMM_ERROR;
}

static void mock_end_run(void *ctx, uint32_t how, picovmm_str message) {
    mock_host *m = mock_of(ctx);
    m->ended = 1;
    m->end_how = how;
    snprintf(m->end_message, sizeof m->end_message, "%.*s", (int)message.len, message.ptr);
}

static const picovmm_irq_ext mock_irq_ext = {sizeof(picovmm_irq_ext), 0, mock_line_count,
                                             mock_set_level, mock_pulse};
static const picovmm_events_ext mock_events_ext = {sizeof(picovmm_events_ext), 0, mock_watch_fd,
                                                   mock_add_timer, mock_cancel};
static const picovmm_machine_ext mock_machine_ext = {
    sizeof(picovmm_machine_ext), 0,          mock_instance_name, mock_machine_dir,
    mock_config_int,             mock_config_string, mock_config_bool, mock_config_table,
    mock_end_run};

static const void *mock_get_extension(void *ctx, const char *id) {
    (void)ctx;
    if (!strcmp(id, PICOVMM_EXT_IRQ))
        return &mock_irq_ext;
    if (!strcmp(id, PICOVMM_EXT_EVENTS))
        return &mock_events_ext;
    if (!strcmp(id, PICOVMM_EXT_MACHINE))
        return &mock_machine_ext;
    return NULL;
}

/* Sets up `m` with no lines, no config, name "mock0" and the current folder. */
static void mock_host_init(mock_host *m) {
    memset(m, 0, sizeof *m);
    m->host.struct_size = sizeof(picovmm_host);
    m->host.abi_major = PICOVMM_PLUGIN_ABI_MAJOR;
    m->host.abi_minor = PICOVMM_PLUGIN_ABI_MINOR;
    m->host.ctx = m;
    m->host.log = mock_log;
    m->host.read_guest = mock_read_guest;
    m->host.write_guest = mock_write_guest;
    m->host.request_stop = mock_request_stop;
    m->host.get_extension = mock_get_extension;
    m->name = "mock0";
    m->dir = "";
}

static void mock_set_lines(mock_host *m, uint32_t n) { m->lines = n < MOCK_MAX ? n : MOCK_MAX; }

static void mock_set(mock_host *m, const char *key, int kind, int64_t i, const char *s) {
    if (m->config_count < MOCK_MAX) {
        mock_config c = {key, kind, i, s};
        m->config[m->config_count++] = c;
    }
}
static void mock_set_int(mock_host *m, const char *key, int64_t v) { mock_set(m, key, 1, v, NULL); }
static void mock_set_string(mock_host *m, const char *key, const char *v) {
    mock_set(m, key, 2, 0, v);
}
static void mock_set_bool(mock_host *m, const char *key, int v) { mock_set(m, key, 3, v, NULL); }

/* Calls the callbacks of live watches on `fd` (as picovmm does when it is readable); returns
 * how many ran. */
static int mock_fire_fd(mock_host *m, void *instance, int fd) {
    int n = 0;
    for (int i = 0; i < MOCK_MAX; i++) {
        mock_event e = m->events[i];
        if (e.live && !e.timer && e.fd == fd) {
            e.callback(instance, e.token);
            n++;
        }
    }
    return n;
}

/* Calls the callbacks of live timers (as picovmm does when they are due); a one-shot timer is
 * gone afterwards. Returns how many ran. */
static int mock_fire_timers(mock_host *m, void *instance) {
    int n = 0;
    for (int i = 0; i < MOCK_MAX; i++) {
        mock_event e = m->events[i];
        if (e.live && e.timer) {
            if (!e.period_ns)
                m->events[i].live = 0;
            e.callback(instance, e.token);
            n++;
        }
    }
    return n;
}

/* Silences "unused" warnings for the helpers a test does not call. */
static inline void mock_host_unused(void) {
    (void)mock_set_int;
    (void)mock_set_bool;
    (void)mock_fire_timers;
}

#endif /* PICOVMM_MOCK_HOST_H */
