/*
 * console_test.c -- unit tests of the console plugin without picovmm, on the mock host
 * (plugins/api/harness/picovmm_mock_host.h). Build and run:
 *
 *   cc -I plugins/api/include -I plugins/api/harness -o console_test \
 *      plugins/examples/console-c/console_test.c && ./console_test
 */
#include <assert.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "console.c"
#include "picovmm_mock_host.h"

static uint8_t in(void *dev, uint16_t port) {
    uint8_t b = 0;
    assert(picovmm_plugin_entry.port_read(dev, port, &b, 1) == PICOVMM_OK);
    return b;
}

int main(void) {
    char path[] = "/tmp/console-test-XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0 && write(fd, "ab", 2) == 2);
    close(fd);

    mock_host m;
    mock_host_init(&m);
    char error[256];
    uint64_t len = 0;
    picovmm_str none = {"", 0};

    /* Without an interrupt line, create refuses and says why. */
    assert(!picovmm_plugin_entry.create(&m.host, none, error, sizeof error, &len));
    assert(strstr(error, "needs an interrupt line"));

    mock_set_lines(&m, 1);
    mock_set_string(&m, "input", path);
    void *dev = picovmm_plugin_entry.create(&m.host, none, error, sizeof error, &len);
    assert(dev);
    console *c = dev;

    /* Interrupts on; nothing read yet: the line is low. */
    uint8_t on = 1;
    assert(picovmm_plugin_entry.port_write(dev, 2, &on, 1) == PICOVMM_OK);
    assert(m.level[0] == 0 && in(dev, 1) == 0);

    /* picovmm says the input is readable: the bytes wait, the line rises. */
    assert(mock_fire_fd(&m, dev, c->fd) == 1);
    assert(m.level[0] == 1 && in(dev, 1) == 1);
    assert(in(dev, 0) == 'a' && in(dev, 0) == 'b');
    assert(m.level[0] == 0 && in(dev, 1) == 0);

    /* The end of the input: status bit 1, the line high again, the watch gone. */
    assert(mock_fire_fd(&m, dev, c->fd) == 1);
    assert(in(dev, 1) == 2 && m.level[0] == 1);
    assert(mock_fire_fd(&m, dev, c->fd) == 0);

    picovmm_plugin_entry.destroy(dev);
    unlink(path);
    printf("console_test: ok\n");
    return 0;
}
