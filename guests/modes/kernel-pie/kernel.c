/*
 * kernel.c -- the OSDev "Bare Bones" kernel's shape, built with the distribution's default
 * flags (see boot.S): writes to VGA text memory and COM1, then exits through isa-debug-exit.
 */
#include <stdint.h>

#define MB_BOOTED 0x2BADB002u
#define COM1 0x3F8
#define DEBUG_EXIT 0xF4

static volatile uint16_t *const vga = (volatile uint16_t *)0xB8000;

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static void serial_print(const char *s) {
    while (*s) outb(COM1, (uint8_t)*s++);
}

void kernel_main(uint32_t magic, uint32_t info) {
    (void)info;
    const char *text = "Hello from a PIE kernel";
    for (int i = 0; text[i]; i++) vga[i] = (uint16_t)(0x1F00 | (uint8_t)text[i]);
    serial_print(magic == MB_BOOTED ? "PIE kernel: booted by multiboot\n"
                                    : "PIE kernel: not booted by multiboot\n");
    outb(DEBUG_EXIT, 0x50); /* "P" */
}
