; triple-fault.asm -- loads an empty interrupt table, enters protected mode and raises #UD:
; the exception, then #GP, then #DF find no gate, and the CPU shuts down (a triple fault).
;
; (A real-mode `int` with an empty table would do on a PC, but KVM's real-mode emulator on
; some hosts ignores the table's limit and vectors through 0000:0000 instead; an exception
; in protected mode is delivered by the CPU itself everywhere.)
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    cli
    xor ax, ax
    mov ds, ax
    PRINT before
    PROTECTED_MODE_NO_IDT
    ud2                     ; #UD -> #GP -> #DF -> shutdown
    PRINT after             ; never reached
.halt:
    hlt
    jmp .halt

DEBUGCON_PRINT_ROUTINE

before: db "about to triple-fault", 10, 0
after:  db "survived the fault", 10, 0

BOOT_SIGNATURE
