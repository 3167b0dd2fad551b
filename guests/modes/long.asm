; long.asm -- entered by picovmm in 64-bit long mode (--mode long): checks CR0.PG, CR4.PAE and
; EFER.LMA, and that 64-bit registers work, reports on the serial port (COM1), and exits with
; 0x64 when all holds (0x01 otherwise).
%include "picovmm.inc"

[BITS 64]
[ORG 0x7C00]

CR0_PG   equ 1 << 31
CR4_PAE  equ 1 << 5
EFER     equ 0xC0000080
EFER_LMA equ 1 << 10

start:
    mov rax, cr0
    bt rax, 31
    jnc .wrong
    mov rax, cr4
    test eax, CR4_PAE
    jz .wrong
    mov ecx, EFER
    rdmsr
    test eax, EFER_LMA
    jz .wrong
    mov rax, 0x123456789
    shr rax, 32                 ; 1 only with 64-bit registers
    cmp rax, 1
    jne .wrong
    lea rsi, [rel ok]
    call print
    mov al, 0x64
    out DEBUG_EXIT_PORT, al
.wrong:
    lea rsi, [rel wrong]
    call print
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt

SERIAL_PRINT_FLAT 64

ok:    db "long mode: CR0.PG=1 CR4.PAE=1 EFER.LMA=1, 64-bit registers", 10, 0
wrong: db "not in 64-bit long mode", 10, 0
