; emulation-failure.asm -- enters protected mode (16-bit code, empty IDT) and executes
; `int 0x20`. A CPU would triple-fault; KVM on hosts that emulate ring-0 guest code in
; software cannot emulate a software interrupt in protected mode and stops with
; KVM_EXIT_INTERNAL_ERROR, which picovmm reports with CS:IP and the instruction bytes.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    cli
    xor ax, ax
    mov ds, ax
    PRINT before
    PROTECTED_MODE_NO_IDT
    int 0x20
    PRINT after             ; never reached
.halt:
    hlt
    jmp .halt

DEBUGCON_PRINT_ROUTINE

before: db "about to int 0x20 in protected mode", 10, 0
after:  db "the interrupt returned", 10, 0

BOOT_SIGNATURE
