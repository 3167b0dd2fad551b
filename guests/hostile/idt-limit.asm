; idt-limit.asm -- loads an IDT of limit 0 in real mode, then executes int3. On a PC (and in
; QEMU) vector 3 lies past the limit: #GP, then #DF, then a shutdown (a triple fault). Some
; hosts' KVM emulate real mode ignoring the limit and reach the BIOS's handler, which must end
; the run as the triple fault it is. If the int returns, the guest says so and exits with 0x11.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    PRINT before
    lidt [idt0]
    int3
    PRINT returned
    EXIT 0x11

idt0:
    dw 0                        ; limit 0: no vector fits
    dd 0
before:   db "lidt with limit 0, then int3", 10, 0
returned: db "the int returned: the IDT's limit was ignored", 10, 0

DEBUGCON_PRINT_ROUTINE
BOOT_SIGNATURE
