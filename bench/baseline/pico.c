/*
 * pico.c -- the benchmark baseline: the seed's "pico QEMU" done the fast way, in as little C
 * as possible. 640 KiB of RAM at 0, the VGA text window (0xB8000, 32 KiB) backed by memory,
 * the image loaded at LOAD and entered at 0000:LOAD in real mode. Port 0xE9 writes go to
 * stdout (buffered), a write to port 0xF4 ends the run with (v << 1) | 1, hlt ends it with 0
 * after printing the screen. Not part of picovmm: it is what picovmm is measured against.
 *
 *   gcc -O2 -o pico pico.c && ./pico IMAGE [LOAD]
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE 0xA0000
#define VGA_BASE 0xB8000
#define VGA_SIZE 0x8000

static void die(const char *what) { perror(what); exit(2); }

static void print_screen(const unsigned char *vga) {
    int last_row = -1;
    char rows[25][81];
    for (int r = 0; r < 25; r++) {
        int len = 0;
        for (int c = 0; c < 80; c++) {
            unsigned char ch = vga[(r * 80 + c) * 2];
            rows[r][c] = (ch >= 0x20 && ch < 0x7f) ? ch : ' ';
            if (rows[r][c] != ' ') len = c + 1;
        }
        rows[r][len] = 0;
        if (len) last_row = r;
    }
    for (int r = 0; r <= last_row; r++) printf("%s\n", rows[r]);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s IMAGE [LOAD]\n", argv[0]); return 2; }
    unsigned long load = argc > 2 ? strtoul(argv[2], NULL, 0) : 0x7c00;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    unsigned char *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    unsigned char *vga = mmap(NULL, VGA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED || vga == MAP_FAILED) die("mmap");
    int img = open(argv[1], O_RDONLY);
    if (img < 0) die(argv[1]);
    if (read(img, ram + load, RAM_SIZE - load) < 0) die("read");
    struct kvm_userspace_memory_region r0 = {0, 0, 0, RAM_SIZE, (unsigned long)ram};
    struct kvm_userspace_memory_region r1 = {1, 0, VGA_BASE, VGA_SIZE, (unsigned long)vga};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r0) < 0 || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r1) < 0)
        die("KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    struct kvm_segment *segs[] = {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss};
    for (int i = 0; i < 6; i++) { segs[i]->selector = 0; segs[i]->base = 0; segs[i]->limit = 0xffff; }
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = load; regs.rsp = 0x7c00; regs.rflags = 2;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        switch (run->exit_reason) {
        case KVM_EXIT_HLT:
            print_screen(vga);
            return 0;
        case KVM_EXIT_IO: {
            unsigned char *data = (unsigned char *)run + run->io.data_offset;
            if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0xe9)
                fwrite(data, run->io.size, run->io.count, stdout);
            else if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0xf4) {
                fflush(stdout);
                return ((data[0] << 1) | 1) & 0xff;
            }
            break;
        }
        case KVM_EXIT_MMIO:
            break;
        default:
            fprintf(stderr, "exit reason %d\n", run->exit_reason);
            return 4;
        }
    }
}
