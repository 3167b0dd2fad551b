; masked-halt.asm -- `sti; hlt` with every PIC line masked: nothing can wake the CPU, so the run
; ends as halted at once, as after `cli; hlt`.
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

start:
    PIC_INIT 0x08, 0x70
    mov al, 0xFF
    out PIC1_DATA, al           ; the cascade too
    sti
    hlt
    PRINT woke
    EXIT 0x11

DEBUGCON_PRINT_ROUTINE

woke: db "woke from a masked halt", 10, 0

BOOT_SIGNATURE
