; bios-sweep.asm -- calls every BIOS vector from 10h to 7Fh (but 18h and 19h, which end or
; restart the boot, and the vectors that point at data or nowhere on a PC: 1Dh-1Fh, 41h, 43h,
; 46h, 60h-67h) with AH=FFh and garbage in the other registers, through a self-modified
; `int n`, then says it survived. picovmm reports each unimplemented function once, at most 64
; of them, and never stops the guest for it. (Vectors 80h-FFh are left out: on the kvm_pvm
; development host, a real-mode `int n` with n >= 80h never completes inside KVM.)
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov bl, 0x10                ; the vector
next:
    cmp bl, 0x18
    je skip
    cmp bl, 0x19
    je skip
    cmp bl, 0x1D
    jb .code
    cmp bl, 0x1F
    jbe skip
    cmp bl, 0x41
    je skip
    cmp bl, 0x43
    je skip
    cmp bl, 0x46
    je skip
    cmp bl, 0x60
    jb .code
    cmp bl, 0x67
    jbe skip
.code:
    mov [call_site + 1], bl     ; int BL
    push bx
    mov ax, 0xFF55
    mov cx, 0xFFFF
    mov dx, 0xFFFF
    mov si, 0xFFFF
    mov di, 0xFFFF
    mov bx, 0xFFFF
    mov es, bx
call_site:
    int 0x00
    xor ax, ax
    mov es, ax
    pop bx
skip:
    inc bl
    cmp bl, 0x80
    jb next
    PRINT survived
    cli
    hlt

DEBUGCON_PRINT_ROUTINE

survived: db "swept vectors 10h-7Fh", 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
