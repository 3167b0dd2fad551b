; dma-bad-register.asm -- reads a register the dma plugin does not have (offset 0x100 of its
; MMIO window at 0xD0000); the plugin refuses, and picovmm stops the run as a guest fault.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    mov ax, 0xD000
    mov es, ax
    mov eax, [es:0x100]
.halt:
    hlt
    jmp .halt

BOOT_SIGNATURE
