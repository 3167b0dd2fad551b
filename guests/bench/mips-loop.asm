; mips-loop.asm -- the CPU benchmark: 30 x 65,536 rounds of `add ax, bx; dec cx; jnz` (about
; 5.9 million instructions, no port or memory access), then exits through isa-debug-exit with
; 0x10 (status 33). Its run time is the backend's speed at plain real-mode code.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

ROUNDS equ 30

start:
    xor ax, ax
    mov bx, 3
    mov dx, ROUNDS
.outer:
    xor cx, cx                  ; 65,536 rounds
.loop:
    add ax, bx
    dec cx
    jnz .loop
    dec dx
    jnz .outer
    EXIT 0x10

BOOT_SIGNATURE
