; answer.asm -- a KVM tutorial's proof of life: leave 42 in AX and at 0x400, then halt. The
; final registers (--stats-json, --stats) and --pmemsave show both.
[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ax, 42
    mov [0x400], ax
    hlt
