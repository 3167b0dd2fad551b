; reset.asm -- reboots the PC the way DOS programs and kernels do: the i8042's 0xFE command
; pulses the CPU's reset line. picovmm ends the run with outcome "reset".
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

start:
    PRINT resetting
    mov al, 0xFE
    out KBC_STATUS, al
    PRINT still
    jmp $

DEBUGCON_PRINT_ROUTINE

resetting: db "resetting", 10, 0
still:     db "still running after the reset pulse", 10, 0

BOOT_SIGNATURE
