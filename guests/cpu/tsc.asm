; tsc.asm -- RDTSC measures time, not work: the time-stamp counter is read, the guest sleeps
; in `hlt` until the BIOS's timer tick (at 0x46C) has moved twice (55 to 110 ms), and the
; counter is read again. A counter that runs with the clock (at 1 GHz or more, as on every
; x86-64 host) has moved by tens of millions; one that counted instructions would have moved
; by a few dozen. Prints "tsc runs with time" and exits with 0x54 (status 169), or "tsc stood
; still" with 0x46 (status 141).
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

TICKS     equ 0x46C
THRESHOLD equ 5000000           ; 5 ms of a 1 GHz counter

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    sti
    mov bx, [TICKS]
.first:                         ; start on a tick's edge
    hlt
    cmp bx, [TICKS]
    je .first
    rdtsc
    mov esi, eax
    mov edi, edx
    mov bx, [TICKS]
.second:
    hlt
    cmp bx, [TICKS]
    je .second
    rdtsc
    sub eax, esi
    sbb edx, edi
    jnz .moved                  ; beyond 2^32: moved
    cmp eax, THRESHOLD
    jb .still
.moved:
    PRINT moved
    EXIT 0x54
.still:
    PRINT still
    EXIT 0x46

DEBUGCON_PRINT_ROUTINE

moved: db "tsc runs with time", 10, 0
still: db "tsc stood still", 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
