; protected.asm -- entered by picovmm in 32-bit protected mode (--mode protected): checks that
; CR0.PE is set and CR0.PG clear, and that 32-bit arithmetic works, reports on the serial
; port (COM1), and exits with 0x32 when all holds (0x01 otherwise).
%include "picovmm.inc"

[BITS 32]
[ORG 0x7C00]

CR0_PE equ 1 << 0
CR0_PG equ 1 << 31

start:
    mov eax, cr0
    test eax, CR0_PE
    jz .wrong
    test eax, CR0_PG
    jnz .wrong
    mov eax, 0xFFFF
    add eax, 1                  ; 0x10000 only with 32-bit registers
    cmp eax, 0x10000
    jne .wrong
    mov esi, ok
    call print
    mov al, 0x32
    out DEBUG_EXIT_PORT, al
.wrong:
    mov esi, wrong
    call print
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt

SERIAL_PRINT_FLAT 32

ok:    db "protected mode: CR0.PE=1 CR0.PG=0, 32-bit registers", 10, 0
wrong: db "not in 32-bit protected mode", 10, 0
