; floppy-read.asm -- the cost of int 13h reads: boots from a 1.44 MB floppy and reads the whole
; disk PASSES times, a track (18 sectors, 9 KiB) a call, into 0x1000:0000, then exits through
; isa-debug-exit with 0x10 (0x11 if a read failed). 2 x 80 x 2 = 320 calls, 5,760 sectors.
%include "picovmm.inc"

PASSES equ 2

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [drive], dl
    mov ax, 0x1000
    mov es, ax
    mov si, PASSES
.pass:
    xor bp, bp                  ; cylinder
.cylinder:
    xor di, di                  ; head
.head:
    mov ax, 0x0212              ; read 18 sectors
    mov cx, bp
    xchg cl, ch                 ; CH = cylinder, CL = sector 1
    mov cl, 1
    mov dx, di
    mov dh, dl                  ; DH = head
    mov dl, [drive]
    xor bx, bx
    int 0x13
    jc .failed
    inc di
    cmp di, 2
    jb .head
    inc bp
    cmp bp, 80
    jb .cylinder
    dec si
    jnz .pass
    EXIT 0x10
.failed:
    EXIT 0x11

drive db 0

BOOT_SIGNATURE
