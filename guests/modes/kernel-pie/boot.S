/*
 * boot.S -- the OSDev "Bare Bones" entry, in GAS: the multiboot header, a 16 KiB stack, and a
 * call to kernel_main(magic, info). Built with the distribution's default compiler flags (on
 * Debian: position-independent executables), as the tutorial's Makefile does:
 *
 *   gcc -m32 -c boot.S -o boot.o
 *   gcc -m32 -std=gnu99 -ffreestanding -O2 -Wall -Wextra -c kernel.c -o kernel.o
 *   gcc -m32 -T linker.ld -o kernel.elf -ffreestanding -O2 -nostdlib boot.o kernel.o
 */
.set ALIGN,    1<<0
.set MEMINFO,  1<<1
.set FLAGS,    ALIGN | MEMINFO
.set MAGIC,    0x1BADB002
.set CHECKSUM, -(MAGIC + FLAGS)

.section .multiboot, "a"
.align 4
.long MAGIC
.long FLAGS
.long CHECKSUM

.section .bss
.align 16
stack_bottom:
.skip 16384
stack_top:

.section .text
.global _start
.type _start, @function
_start:
    mov $stack_top, %esp
    push %ebx
    push %eax
    call kernel_main
    cli
1:  hlt
    jmp 1b
.size _start, . - _start
