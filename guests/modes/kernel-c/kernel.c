/*
 * kernel.c -- a 32-bit multiboot kernel in C, built with the system compiler, as GRUB-bootable
 * hobby kernels are (the OSDev "Bare Bones" shape): a multiboot header, a stack of its own, and
 * C that writes to VGA text memory and the serial port, then exits through isa-debug-exit.
 *
 *   cc -m32 -ffreestanding -nostdlib -fno-pic -fno-stack-protector -O2 -c kernel.c -o kernel.o
 *   ld -m elf_i386 -T link.ld -o kernel.elf kernel.o
 */
#include <stdint.h>

#define MB_MAGIC 0x1BADB002u
#define MB_FLAGS 0x3u /* page-align modules, memory information */
#define MB_BOOTED 0x2BADB002u
#define COM1 0x3F8
#define COM1_LSR (COM1 + 5)
#define LSR_THR_EMPTY 0x20
#define DEBUG_EXIT 0xF4
#define VGA ((volatile uint16_t *)0xB8000)
#define VGA_ATTR 0x1F00 /* white on blue */

struct multiboot_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

__attribute__((section(".multiboot"), used, aligned(4)))
static const uint32_t multiboot_header[3] = {MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)};

static uint8_t stack[16384] __attribute__((aligned(16)));

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static void serial_print(const char *s) {
    for (; *s; s++) {
        while (!(inb(COM1_LSR) & LSR_THR_EMPTY)) {
        }
        outb(COM1, (uint8_t)*s);
    }
}

static void vga_print(int row, const char *s) {
    for (int col = 0; *s; s++, col++) VGA[row * 80 + col] = (uint16_t)(VGA_ATTR | (uint8_t)*s);
}

void kernel_main(uint32_t magic, const struct multiboot_info *info) {
    if (magic != MB_BOOTED) {
        outb(DEBUG_EXIT, 1);
    }
    vga_print(0, "Hello from a C kernel");
    vga_print(1, (const char *)(uintptr_t)info->cmdline);
    serial_print("C kernel: booted by multiboot, ");
    serial_print((const char *)(uintptr_t)info->cmdline);
    serial_print("\n");
    outb(DEBUG_EXIT, 0x43); /* "C" */
}

/* The entry point: a stack of our own, then C with EAX and EBX as arguments. */
__attribute__((naked, noreturn)) void _start(void) {
    __asm__ volatile(
        "mov %0, %%esp\n"
        "push %%ebx\n"
        "push %%eax\n"
        "call kernel_main\n"
        "1: hlt\n"
        "jmp 1b\n"
        :
        : "i"(stack + sizeof stack));
}
