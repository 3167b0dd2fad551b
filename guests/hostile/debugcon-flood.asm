; debugcon-flood.asm -- writes 200,000 bytes to the debug console (lines of 63 letters and a
; newline), then spins forever: the output must reach stdout while the guest still runs,
; through a bounded buffer, not pile up until the end.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

BYTES equ 200000
LINE  equ 64

start:
    mov ecx, BYTES
    xor bx, bx                  ; column
.byte:
    inc bx
    cmp bx, LINE
    jne .letter
    xor bx, bx
    mov al, 10
    jmp .emit
.letter:
    mov al, bl
    and al, 0x0F
    add al, 'a'
.emit:
    out DEBUGCON_PORT, al
    dec ecx
    jnz .byte
.spin:
    jmp .spin

BOOT_SIGNATURE
