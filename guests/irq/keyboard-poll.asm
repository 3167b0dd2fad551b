; keyboard-poll.asm -- reads the i8042 by polling, with interrupts off: waits for the status
; register's output-buffer-full bit, reads the data port, and prints every byte in hex until
; Enter's release (0x9c). Exits with 0x10.
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

start:
    REAL_MODE_START
.wait:
    in al, KBC_STATUS
    test al, 0x01
    jz .wait
    in al, KBC_DATA
    push ax
    call print_hex
    pop ax
    cmp al, 0x9C
    jne .wait
    mov al, 10
    out DEBUGCON_PORT, al
    EXIT 0x10

PRINT_HEX_ROUTINE

BOOT_SIGNATURE
