; sieve.asm -- the CPU benchmark with memory: the sieve of Eratosthenes over the numbers below
; 60,000 (a byte each at 1000:0000), PASSES times, a near call per pass with registers pushed
; and popped; plain loads, stores and compares with memory, no string instruction. Exits
; through isa-debug-exit with 0x10 (status 33) when it counted the 6,057 primes, else 0x11.
%include "picovmm.inc"

N       equ 60000
PRIMES  equ 6057
PASSES  equ 20

[BITS 16]
[ORG 0x7C00]

start:
    mov ax, 0x1000
    mov ds, ax
    mov cx, PASSES
.pass:
    push cx
    call sieve
    pop cx
    loop .pass
    cmp dx, PRIMES
    jne .wrong
    EXIT 0x10
.wrong:
    EXIT 0x11

; DX = how many primes are below N; DS:0 holds a byte per number (1: composite).
sieve:
    push si
    push bx
    xor bx, bx
.clear:
    mov byte [bx], 0
    inc bx
    cmp bx, N
    jb .clear
    mov si, 2
    xor dx, dx
.next:
    cmp byte [si], 0
    jne .skip
    inc dx
    mov bx, si
    add bx, si
    jc .skip                    ; 2 * SI is past 64 KiB: nothing to mark
.mark:
    cmp bx, N
    jae .skip
    mov byte [bx], 1
    add bx, si
    jnc .mark
.skip:
    inc si
    cmp si, N
    jb .next
    pop bx
    pop si
    ret

times 510 - ($ - $$) db 0
dw 0xAA55
