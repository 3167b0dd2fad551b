/*
 * irqchip.c -- the in-kernel alternative picovmm measured itself against: the same real-mode
 * guest on KVM's own PIC and PIT (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2), which handle the timer
 * interrupt and `hlt` inside the kernel. 640 KiB of RAM at 0, the image at 0x7C00. Port 0xE9
 * writes go to stdout, a write to port 0xF4 ends the run with (v << 1) | 1. Not part of
 * picovmm: it is the comparison in docs/performance.md.
 *
 *   gcc -O2 -o irqchip irqchip.c && ./irqchip IMAGE
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
#define LOAD 0x7c00

static void die(const char *what) { perror(what); exit(2); }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s IMAGE\n", argv[0]); return 2; }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) die("KVM_CREATE_IRQCHIP");
    struct kvm_pit_config pit = {0};
    if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0) die("KVM_CREATE_PIT2");
    unsigned char *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) die("mmap");
    int img = open(argv[1], O_RDONLY);
    if (img < 0) die(argv[1]);
    if (read(img, ram + LOAD, RAM_SIZE - LOAD) < 0) die("read");
    struct kvm_userspace_memory_region r0 = {0, 0, 0, RAM_SIZE, (unsigned long)ram};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r0) < 0) die("KVM_SET_USER_MEMORY_REGION");
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
    regs.rip = LOAD; regs.rsp = 0x7c00; regs.rflags = 2;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
    unsigned long exits = 0;
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        exits++;
        if (run->exit_reason != KVM_EXIT_IO) {
            fprintf(stderr, "irqchip: exit reason %u\n", run->exit_reason);
            return 4;
        }
        unsigned char *data = (unsigned char *)run + run->io.data_offset;
        if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0xe9) {
            putchar(*data);
        } else if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0xf4) {
            fflush(stdout);
            fprintf(stderr, "irqchip: %lu exits\n", exits);
            return (*data << 1) | 1;
        }
    }
}
